//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import ConsumerMetrics

@Suite struct HealthStateTests {
    @Test func livenessFailsOnlyAfterTheWindow() {
        let clock = ManualClock(100)
        let health = HealthState(livenessWindowSeconds: 30, clock: clock.closure)
        #expect(health.liveness().ok)
        clock.advance(by: 29)
        #expect(health.liveness().ok)
        clock.advance(by: 13)
        let stalled = health.liveness()
        #expect(!stalled.ok)
        #expect(stalled.checks == [HealthCheck(name: "processing_loop", ok: false, detail: "stalled 42s")])
        health.markProgress()
        #expect(health.liveness().ok)
    }

    @Test func readinessNeedsModelPartitionsAndBroker() {
        let health = HealthState()
        #expect(!health.readiness().ok)
        health.setModelLoaded(true)
        health.setBrokerReachable(true)
        #expect(!health.readiness().ok)  // 503 until the first assignment
        health.setAssignedPartitions(1)
        #expect(health.readiness().ok)
        health.setBrokerReachable(false)
        let report = health.readiness()
        #expect(!report.ok)
        #expect(report.checks.map(\.name) == ["model_loaded", "partitions_assigned", "broker_reachable"])
        #expect(report.checks.first { $0.name == "broker_reachable" }?.ok == false)
    }

    @Test func reportJSONHasStatusAndOrderedChecks() throws {
        let report = HealthReport(checks: [
            HealthCheck(name: "a", ok: true, detail: "ok"),
            HealthCheck(name: "b", ok: false, detail: "bad \"quote\"\n"),
        ])
        #expect(report.json() == #"{"status":"fail","checks":{"a":"ok","b":"bad \"quote\"\n"}}"#)
        let object = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        #expect(object?["status"] as? String == "fail")
        #expect((object?["checks"] as? [String: String])?["b"] == "bad \"quote\"\n")
        #expect(report.httpStatusCode == 503)
    }
}

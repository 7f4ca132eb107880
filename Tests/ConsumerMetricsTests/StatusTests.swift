//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import ConsumerMetrics

@Suite struct StatusTests {
    /// Parses `/status` with Foundation's strict JSON parser.
    static func document(_ metrics: ConsumerMetrics, health: HealthState? = nil, now: Double = 1_700_000_100) throws -> [String: Any] {
        let text = metrics.status(health: health, now: now).json()
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func statusCountsAreTheExposedCounts() throws {
        let clock = ManualClock(1_700_000_000)
        let metrics = makeMetrics(clock: clock)
        for _ in 0..<7 { metrics.recordProcessed(at: clock.now) }
        metrics.recordPredictionDelivered(prediction: 1, probability: 0.9, endToEndSeconds: 0.02)
        metrics.recordPredictionDelivered(prediction: 0, probability: 0.1, endToEndSeconds: 0.04)
        metrics.recordPredictionDelivered(prediction: 0, probability: 0.2, endToEndSeconds: 0.04)
        metrics.recordSkip(.warmingUp)
        metrics.recordError(.parseError)
        metrics.recordDeadLetterDelivered(.parseError)
        metrics.setAssignedPartitions(3)
        let status = try Self.document(metrics)
        let records = try #require(status["records"] as? [String: Any])
        #expect(records["processed"] as? Double == 7)
        #expect(records["predictions"] as? Double == 3)
        #expect((status["skips"] as? [String: Double])?["warming_up"] == 1)
        #expect((status["errors"] as? [String: Double])?["parse_error"] == 1)
        #expect((status["dead_letters"] as? [String: Double])?["parse_error"] == 1)
        #expect(status["assigned_partitions"] as? Double == 3)
        let predictions = try #require(status["predictions"] as? [String: Any])
        #expect(predictions["positive"] as? Double == 1)
        #expect(abs((predictions["positive_rate"] as? Double ?? 0) - 1.0 / 3.0) < 1e-12)
        let model = try #require(status["model"] as? [String: Any])
        #expect(model["variant"] as? String == "baseline" && model["version"] as? String == "2024-06-01")
        // End-to-end: 1 of 3 in (0.01, 0.025], 2 in (0.025, 0.05]: p50 interpolates inside the second bucket.
        let latency = try #require((status["latency"] as? [String: Any])?["end_to_end_seconds"] as? [String: Any])
        #expect(latency["count"] as? Double == 3)
        let p50 = try #require(latency["p50"] as? Double)
        #expect(abs(p50 - (0.025 + 0.025 * 0.25)) < 1e-12)
        // No observation yet: null, not 0.
        let processing = try #require((status["latency"] as? [String: Any])?["processing_seconds"] as? [String: Any])
        #expect(processing["p50"] is NSNull)
    }

    @Test func sectionsAppearWhenRegisteredAndGoWhenRemoved() throws {
        let metrics = makeMetrics()
        #expect((try Self.document(metrics)["sections"] as? [String: Any])?.isEmpty == true)
        metrics.setStatusSection("model_quality") { .members(["psi": 0.12, "realised_precision": nil, "window": "1h"]) }
        let quality = try #require((try Self.document(metrics)["sections"] as? [String: Any])?["model_quality"] as? [String: Any])
        #expect(quality["psi"] as? Double == 0.12)
        #expect(quality["realised_precision"] is NSNull)
        #expect(quality["window"] as? String == "1h")
        metrics.setStatusSection("model_quality", provider: nil)
        #expect((try Self.document(metrics)["sections"] as? [String: Any])?.isEmpty == true)
    }

    @Test func healthAndModeAreIncluded() throws {
        let health = HealthState(livenessWindowSeconds: 30, mode: "demo")
        health.setModelLoaded(true)
        let status = try Self.document(makeMetrics(), health: health)
        #expect(status["mode"] as? String == "demo")
        #expect(status["ready"] as? Bool == false)
        #expect((status["checks"] as? [String: String])?["partitions_assigned"] == "no partitions assigned")
        #expect(health.readiness().json().contains(#""mode":"demo""#))
        #expect(!HealthState().readiness().json().contains(#""mode""#))
    }

    @Test func responderServesThePageAndTheDocument() throws {
        let responder = MetricsResponder(metrics: makeMetrics(), health: HealthState())
        let page = responder.respond(method: "GET", uri: "/")
        #expect(page.status == 200 && page.contentType.hasPrefix("text/html"))
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("fetch(\"status\""))
        // Self-contained: no external script, style sheet, font or image.
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("src=") && !html.contains("<link"))
        let status = responder.respond(method: "GET", uri: "/status")
        #expect(status.status == 200 && status.contentType == "application/json")
        #expect(try JSONSerialization.jsonObject(with: Data(status.body)) is [String: Any])
        #expect(responder.respond(method: "GET", uri: "/model").status == 404)
    }

    @Test func throughputHistoryKeepsTenMinutesOfRates() {
        var history = ThroughputHistory(intervalSeconds: 5, windowSeconds: 600)
        history.sample(total: 0, at: 1000)
        #expect(history.points.isEmpty)
        history.sample(total: 50, at: 1005)
        #expect(history.points == [.init(time: 1005, rate: 10)])
        history.sample(total: 60, at: 1006)  // too soon: ignored
        #expect(history.points.count == 1)
        for step in 2...200 { history.sample(total: Double(50 * step), at: 1000 + Double(5 * step)) }
        #expect(history.points.count == 120)
        #expect(history.points.first.map(\.time) == 1405.0)
        history.sample(total: 3, at: 2100)  // counter restarted: new baseline, no negative rate
        #expect(history.points.allSatisfy { $0.rate >= 0 })
    }

    @Test func expositionParsingReadsLabelsAndEscapes() {
        let snapshot = ExpositionSnapshot(text: """
            # HELP x help
            x_total 12
            y{a="1",b="q\\"uote"} 3.5
            z{le="+Inf"} 4
            """)
        #expect(snapshot.value("x_total") == 12)
        #expect(snapshot.value("y", ["b": "q\"uote"]) == 3.5)
        #expect(snapshot.value("z", ["le": "+Inf"]) == 4)
        #expect(snapshot.value("missing") == nil)
    }

    @Test func statusValueWritesValidJSON() throws {
        let value = StatusValue.members([
            "s": "a\"b\\c\nd\u{01}", "n": .number(.nan), "i": 3, "d": 2.5, "a": [true, nil], "o": .members(["k": "v"]),
        ])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(value.json().utf8)) as? [String: Any])
        #expect(parsed["s"] as? String == "a\"b\\c\nd\u{01}")
        #expect(parsed["n"] is NSNull)
        #expect(parsed["i"] as? Int == 3)
        #expect(parsed["d"] as? Double == 2.5)
    }
}

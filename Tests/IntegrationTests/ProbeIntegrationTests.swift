import Foundation
import StreamConsumer
import Testing

/// `/readyz` and `/healthz` of the real daemon follow what happens to it.
@Suite(.serialized) struct ProbeIntegrationTests {
    @Test func readinessWaitsForTheFirstAssignment() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        #expect(cluster.command("down 1") == "ok")
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        // The broker is down: no assignment is possible, so the daemon must not claim to be ready.
        let notReady = httpGet("http://\(metrics)/readyz")
        #expect(notReady?.status == 503)
        #expect(notReady?.body.contains("\"status\":\"fail\"") == true, "\(notReady?.body ?? "")")
        #expect(metricValue(httpGet("http://\(metrics)/metrics")?.body ?? "", "volatility_consumer_ready") == 0)
        #expect(httpGet("http://\(metrics)/healthz")?.status == 200, "an idle daemon waiting for brokers is alive")

        #expect(cluster.command("up 1") == "ok")
        let ready = waitUntil(timeoutSeconds: 90) { httpGet("http://\(metrics)/readyz")?.status == 200 }
        #expect(ready, "not ready after the broker came back: \(daemon.stderr.suffix(2000))")
        #expect(metricValue(httpGet("http://\(metrics)/metrics")?.body ?? "", "volatility_consumer_ready") == 1)
        #expect(metricValue(httpGet("http://\(metrics)/metrics")?.body ?? "", "volatility_consumer_assigned_partitions") == 1)
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    @Test func livenessFailsWhileProcessingIsStuck() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        let daemon = try ChildProcess(
            name: "consumerd", arguments: [],
            environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: [
                "LIVENESS_WINDOW_SECONDS": "2",
                "CONSUMERD_FAULT_STALL_MARKER": "STALL-HERE",
                "CONSUMERD_FAULT_STALL_SECONDS": "8",
            ])
        )
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 })
        #expect(httpGet("http://\(metrics)/healthz")?.status == 200)

        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrap)
        try producer.send(topic: "ticks.features", key: "X", value: Array(#"{"product_id":"X","price":1,"ts":1762932011.6,"note":"STALL-HERE"}"#.utf8))
        #expect(producer.flush(timeoutMs: 10_000) == 0)

        let stalled = waitUntil(timeoutSeconds: 30) { httpGet("http://\(metrics)/healthz")?.status == 503 }
        #expect(stalled, "/healthz stayed ok while the loop was stuck")
        let health = httpGet("http://\(metrics)/health")
        #expect(health?.status == 503 && health?.body.contains("stalled") == true, "\(health?.body ?? "")")
        let recovered = waitUntil(timeoutSeconds: 30) { httpGet("http://\(metrics)/healthz")?.status == 200 }
        #expect(recovered, "/healthz did not recover after the stall ended")
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }
}

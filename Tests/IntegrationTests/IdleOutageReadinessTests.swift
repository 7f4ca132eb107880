import Foundation
import Testing

/// An idle daemon (its input at its end, nothing arriving) through an outage of every broker shorter than the
/// group session: afterwards no record, no delivery report and no rebalance comes to tell it the brokers are back.
/// Readiness must come back anyway — before, it stayed 503 until the next input record, however long that took.
@Suite(.serialized) struct IdleOutageReadinessTests {
    @Test func idleDaemonIsReadyAgainAfterTheBrokersReturn() throws {
        let cluster = try MockClusterProcess(partitions: 4, brokers: 1)
        // The default session (45 s) outlives the outage: the group does not rebalance, the path this is about.
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(
            bootstrap: cluster.bootstrap, extra: ["KAFKA_CONF_SESSION_TIMEOUT_MS": "45000", "KAFKA_CONF_HEARTBEAT_INTERVAL_MS": "3000"]
        ))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        func ready() -> Int { httpGet("http://\(metrics)/readyz", timeoutSeconds: 5)?.status ?? 0 }
        try #require(waitUntil(timeoutSeconds: 60) { ready() == 200 }, "never ready: \(daemon.stderr.suffix(2000))")
        let burst = try FaultInjectionTests.burst(cluster.bootstrap, count: 400, products: 16)
        #expect(burst.waitForExit(timeoutSeconds: 60) == 0, "replay failed: \(burst.stderr.suffix(500))")
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "never drained the burst: \(daemon.stderr.suffix(2000))")
        let assignsBefore = LongOutageTests.rebalances("assign", metrics)

        #expect(cluster.command("down 1") == "ok")
        let downAt = Date()
        let noticed = waitUntil(timeoutSeconds: 30) { ready() == 503 }
        let noticedAfter = Date().timeIntervalSince(downAt)
        #expect(cluster.command("up 1") == "ok")
        let upAt = Date()
        #expect(noticed, "/readyz never said 503 with the only broker down: \(daemon.stderr.suffix(2000))")
        let back = waitUntil(timeoutSeconds: 90) { ready() == 200 }
        let backAfter = Date().timeIntervalSince(upAt)
        print("idle daemon: /readyz 503 \(String(format: "%.1f", noticedAfter)) s after the broker went down, 200 again \(back ? String(format: "%.1f s", backAfter) : "never (90 s)") after it came back")
        #expect(back, "/readyz still not 200 90 s after the broker came back, with no input: \(daemon.stderr.suffix(3000))")
        #expect(
            LongOutageTests.rebalances("assign", metrics) == assignsBefore,
            "the group rebalanced during the outage: the test did not exercise the idle path it is about")
        #expect(daemon.process.isRunning, "the daemon died: \(daemon.stderr.suffix(2000))")
    }
}

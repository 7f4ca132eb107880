import Foundation
import Testing

/// One broker of three down — the leader of some input partitions and of every output — while back-pressure keeps
/// the input partitions on a live broker paused. Their `lag_records` must count every record that arrives while
/// they are paused: librdkafka's cached watermarks stop at the last fetch, so only the log-end look-up can see
/// them, and a look-up of all partitions in one call fails whole when one leader is down (`LogEndQuery` then asks
/// leader by leader). Afterwards, nothing lost.
@Suite(.serialized) struct PartialOutageTests {
    static let input = "ticks.features"

    /// `lag_records` per input partition, as the daemon exports it now.
    static func lagRecords(_ metricsAddress: String) -> [Int: Int64] {
        let text = httpGet("http://\(metricsAddress)/metrics")?.body ?? ""
        var lags: [Int: Int64] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("volatility_consumer_lag_records{") {
            guard line.contains("topic=\"\(input)\""),
                let label = line.range(of: "partition=\""),
                let partition = Int(line[label.upperBound...].prefix(while: \.isNumber)),
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            lags[partition] = Int64(value)
        }
        return lags
    }

    @Test func lagOfPausedPartitionsOnLiveBrokersStaysHonestWhileAnotherBrokerIsDown() throws {
        let cluster = try MockClusterProcess(partitions: 6, brokers: 3)
        // The group and input partitions 0–3 on broker 1; input partitions 4–5 and every prediction on broker 3.
        let live = 0..<4
        #expect(cluster.command("coordinator group volatility-consumer 1") == "ok")
        for partition in 0..<6 {
            #expect(cluster.command("leader \(Self.input) \(partition) \(live.contains(partition) ? 1 : 3)") == "ok")
            #expect(cluster.command("leader ticks.predictions \(partition) 3") == "ok")
            #expect(cluster.command("leader ticks.features.dlq \(partition) 1") == "ok")
        }
        let maxInflight = 2000
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: FaultInjectionTests.environment(cluster.bootstrap, extra: [
            "MAX_INFLIGHT": String(maxInflight),
            "KAFKA_PRODUCER_CONF_MESSAGE_TIMEOUT_MS": "4000",
            "LOG_LEVEL": "info",
        ]))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 })
        let warmUp = try FaultInjectionTests.burst(cluster.bootstrap, count: 2000, products: 32)
        #expect(warmUp.waitForExit(timeoutSeconds: 60) == 0)
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "never drained before the outage: \(daemon.stderr.suffix(2000))")
        let inspector = try TopicInspector(bootstrap: cluster.bootstrap)
        let groupInspector = try TopicInspector(bootstrap: cluster.bootstrap, group: "volatility-consumer")
        let before = try inspector.watermarks(topic: Self.input, partitions: live.count).map(\.high)

        #expect(cluster.command("down 3") == "ok")
        let outageStart = Date()
        let first = try FaultInjectionTests.burst(cluster.bootstrap, count: 8000, products: 32)
        let paused = waitUntil(timeoutSeconds: 60) { daemon.stderr.contains("fetching paused") }
        #expect(paused, "no back-pressure while the outputs' broker was down: \(daemon.stderr.suffix(2000))")
        // These arrive while the live partitions are paused: no fetch response reports them.
        let second = try FaultInjectionTests.burst(cluster.bootstrap, count: 6000, products: 32)

        // Both bursts' records for the live partitions are in once the live watermarks stop moving (the records
        // for partitions 4–5 wait in the replays' queues until broker 3 is back).
        var highs = before
        var stableSince = Date()
        let written = waitUntil(timeoutSeconds: 60, pollSeconds: 0.5) {
            guard let now = try? inspector.watermarks(topic: Self.input, partitions: live.count).map(\.high) else { return false }
            if now != highs {
                highs = now
                stableSince = Date()
            }
            return Date().timeIntervalSince(stableSince) >= 3
        }
        #expect(written, "the live partitions' watermarks kept moving")
        // The truth: from the group's committed offset to the log end. No output can be acknowledged, so only
        // inputs without outputs (a ticker's subscription message is skipped) can move a position meanwhile.
        var expected: [Int: Int64] = [:]
        var lags: [Int: Int64] = [:]
        var healthy = true
        let honest = waitUntil(timeoutSeconds: 45, pollSeconds: 0.5) {
            healthy = healthy && httpGet("http://\(metrics)/healthz", timeoutSeconds: 2)?.status == 200
            lags = Self.lagRecords(metrics)
            guard let committed = try? groupInspector.committed(topic: Self.input, partitions: live.count) else { return false }
            for partition in live { expected[partition] = highs[partition] - (committed[partition] ?? 0) }
            return live.allSatisfy { lags[$0] == expected[$0] }
        }
        let honestAfter = Date().timeIntervalSince(outageStart)
        print(
            "partial outage: live partitions' lag_records \(live.map { lags[$0] ?? -1 }), records waiting \(live.map { expected[$0] ?? -1 }), "
                + "honest \(seconds(honestAfter)) into the outage; healthz 200 throughout: \(healthy)")
        #expect(honest, "lag_records of the paused live partitions \(lags) ≠ records waiting \(expected)")
        #expect(expected.values.reduce(0, +) > Int64(maxInflight), "too few records waited for the check to mean anything: \(expected)")
        #expect(healthy, "/healthz failed while only one broker was down")
        #expect(daemon.stderr.contains("partition ends not read"), "the ends of broker 3's partitions cannot be read, and no warning said so")

        #expect(cluster.command("up 3") == "ok")
        // The replays give up on the records for broker 3's partitions 30 s after their last one (exit 1): the
        // audit below covers what reached the broker.
        let replays = [first.waitForExit(timeoutSeconds: 120), second.waitForExit(timeoutSeconds: 120)]
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "never drained after the outage: \(daemon.stderr.suffix(2000))")
        let behind = FaultInjectionTests.waitUntilCommittedToTheEnd(cluster.bootstrap, partitions: 6)
        #expect(behind == nil, "input not committed to its end: \(behind ?? "")\n\(daemon.stderr.suffix(2000))")
        let audit = try DaemonIntegrationTests.runAudit(bootstrap: cluster.bootstrap)
        print("partial outage: replays exited \(replays.map { $0.map(String.init) ?? "no" }), inputs \(audit.inputs), outputs \(audit.outputs), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(Int64(audit.inputs) >= 2000 + expected.values.reduce(0, +), "inputs \(audit.inputs)")
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0, "\(audit)")
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 20) == 0)
    }
}

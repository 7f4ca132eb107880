import Foundation
import Testing

/// One broker of three down — the leader of some input partitions and of every output — while back-pressure keeps
/// the input partitions on a live broker paused. Their `lag_records` must count every record that arrives while
/// they are paused: librdkafka's cached watermarks stop at the last fetch, so only the log-end look-up can see
/// them, and a look-up of all partitions in one call fails whole when one leader is down (`LogEndQuery` then asks
/// leader by leader). Afterwards, nothing lost.
@Suite(.serialized) struct PartialOutageTests {
    static let input = "ticks.features"

    /// `lag_records` of each of `partitions` of the input, as the daemon exports it now (absent: no series).
    static func lagRecords(_ metricsAddress: String, partitions: Range<Int>) -> [Int: Int64] {
        let text = httpGet("http://\(metricsAddress)/metrics")?.body ?? ""
        var lags: [Int: Int64] = [:]
        for partition in partitions {
            let series = #"volatility_consumer_lag_records{topic="\#(input)",partition="\#(partition)"}"#
            if let value = metricValue(text, series) { lags[partition] = Int64(value) }
        }
        return lags
    }

    @Test func lagOfPausedPartitionsOnLiveBrokersStaysHonestWhileAnotherBrokerIsDown() throws {
        let cluster = try MockClusterProcess(partitions: 6, brokers: 3)
        // The group and input partitions 0–3 on broker 1; input partitions 4–5 and every prediction on broker 3.
        let live = 0..<4
        let (daemon, metrics) = try FaultInjectionTests.backPressuredDaemon(
            cluster, partitions: 6, inputLeader: { live.contains($0) ? 1 : 3 }, outputLeader: 3, maxInflight: 2000)
        let warmUp = try FaultInjectionTests.burst(cluster.bootstrap, count: 2000, products: 32)
        #expect(warmUp.waitForExit(timeoutSeconds: 60) == 0)
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "never drained before the outage: \(daemon.stderr.suffix(2000))")
        let inspector = try TopicInspector(bootstrap: cluster.bootstrap)
        let groupInspector = try TopicInspector(bootstrap: cluster.bootstrap, group: "volatility-consumer")

        #expect(cluster.command("down 3") == "ok")
        let outageStart = Date()
        let logMark = daemon.stderr.count  // only what the daemon logs from now on counts
        var healthSamples = 0
        var healthFailures: [String] = []
        func sampleHealth() {
            healthSamples += 1
            let status = httpGet("http://\(metrics)/healthz")?.status
            if status != 200 { healthFailures.append("\(seconds(Date().timeIntervalSince(outageStart))): \(status.map(String.init) ?? "no answer")") }
        }
        let first = try FaultInjectionTests.burst(cluster.bootstrap, count: 8000, products: 32)
        let paused = waitUntil(timeoutSeconds: 60, pollSeconds: 0.5) {
            sampleHealth()
            return daemon.stderr.dropFirst(logMark).contains("fetching paused")
        }
        #expect(paused, "no back-pressure while the outputs' broker was down: \(daemon.stderr.suffix(2000))")
        // What the live partitions hold when the pause is seen; the second burst arrives after it, while they are
        // paused: no fetch response reports those records, only a log-end look-up can.
        let pausedHighs = try inspector.watermarks(topic: Self.input, partitions: live.count).map(\.high)
        let second = try FaultInjectionTests.burst(cluster.bootstrap, count: 6000, products: 32)

        // The truth: from the group's committed offset to the log end, both read from the broker at every poll. No
        // output can be acknowledged, so only inputs without outputs (a ticker's subscription message is skipped)
        // can move a position meanwhile. Honest: equal for every live partition, with at least 1,000 records
        // arrived after the pause, and still equal with the same log ends 6 s later (past a 5 s look-up cycle).
        // The records for partitions 4–5 wait in the replays' queues until broker 3 is back.
        var expected: [Int: Int64] = [:]
        var lags: [Int: Int64] = [:]
        var highs = pausedHighs
        var matched: (highs: [Int64], since: Date)?
        let honest = waitUntil(timeoutSeconds: 90, pollSeconds: 0.5) {
            sampleHealth()
            guard let now = try? inspector.watermarks(topic: Self.input, partitions: live.count).map(\.high),
                let committed = try? groupInspector.committed(topic: Self.input, partitions: live.count)
            else { return false }
            highs = now
            lags = Self.lagRecords(metrics, partitions: live)
            for partition in live { expected[partition] = now[partition] - (committed[partition] ?? 0) }
            let arrivedWhilePaused = zip(now, pausedHighs).reduce(Int64(0)) { $0 + $1.0 - $1.1 }
            guard live.allSatisfy({ lags[$0] == expected[$0] }), arrivedWhilePaused >= 1000 else {
                matched = nil
                return false
            }
            if matched?.highs != now { matched = (now, Date()) }
            return Date().timeIntervalSince(matched?.since ?? Date()) >= 6
        }
        let arrivedWhilePaused = zip(highs, pausedHighs).reduce(Int64(0)) { $0 + $1.0 - $1.1 }
        print(
            "partial outage: live partitions' lag_records \(live.map { lags[$0] ?? -1 }), records waiting \(live.map { expected[$0] ?? -1 }) "
                + "(\(arrivedWhilePaused) arrived while paused), equal from \(matched.map { seconds($0.since.timeIntervalSince(outageStart)) } ?? "never") "
                + "into the outage; /healthz \(healthSamples - healthFailures.count) of \(healthSamples) samples 200")
        #expect(honest, "lag_records of the paused live partitions \(lags) ≠ records waiting \(expected), \(arrivedWhilePaused) arrived while paused")
        #expect(healthFailures.isEmpty, "/healthz failed while only one broker was down: \(healthFailures)")
        #expect(
            daemon.stderr.dropFirst(logMark).contains("partition ends not read"),
            "the ends of broker 3's partitions cannot be read, and no warning said so")

        #expect(cluster.command("up 3") == "ok")
        // A replay gives up on what it could not deliver 30 s after its last record (exit 1): the audit must find
        // exactly what they delivered.
        let replays = [first, second]
        let exits = replays.map { $0.waitForExit(timeoutSeconds: 120) }
        let delivered = replays.map { replay in
            replay.stdout.first { $0.hasPrefix("SENT=") }?
                .split(separator: " ").first { $0.hasPrefix("DELIVERED=") }
                .flatMap { Int($0.dropFirst("DELIVERED=".count)) }
        }
        #expect(delivered.allSatisfy { $0 != nil }, "a replay did not report what it delivered: \(replays.map { $0.stderr.suffix(500) })")
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "never drained after the outage: \(daemon.stderr.suffix(2000))")
        let behind = FaultInjectionTests.waitUntilCommittedToTheEnd(cluster.bootstrap, partitions: 6)
        #expect(behind == nil, "input not committed to its end: \(behind ?? "")\n\(daemon.stderr.suffix(2000))")
        let audit = try DaemonIntegrationTests.runAudit(bootstrap: cluster.bootstrap)
        print("partial outage: replays exited \(exits.map { $0.map(String.init) ?? "no" }) having delivered \(delivered.map { $0 ?? -1 }), inputs \(audit.inputs), outputs \(audit.outputs), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(audit.inputs == 2000 + delivered.reduce(0) { $0 + ($1 ?? 0) }, "inputs \(audit.inputs), delivered 2000 + \(delivered)")
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0, "\(audit)")
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 20) == 0)
    }
}

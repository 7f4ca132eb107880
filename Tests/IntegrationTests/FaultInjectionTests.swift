import Foundation
import Testing

/// Faults while a real tick stream flows at ≥ 5k records/s, each followed by `consumerd audit`: nothing lost,
/// nothing mismatched, duplicates only from uncommitted tails.
@Suite(.serialized) struct FaultInjectionTests {
    static let rate = "5000"

    /// A burst of real ticks at 5k records/s, each pass of the file under its own product id.
    static func burst(_ bootstrap: String, count: Int, products: Int = 64) throws -> ChildProcess {
        try ChildProcess(
            name: "replay",
            arguments: [
                "replay", ReferenceData.tickFile.path, "--bootstrap-servers", bootstrap, "--rate", rate, "--loop",
                "--products", String(products), "--count", String(count),
            ]
        )
    }

    static func environment(_ bootstrap: String, extra: [String: String] = [:]) -> [String: String] {
        daemonEnvironment(bootstrap: bootstrap, extra: [
            "KAFKA_CONF_SESSION_TIMEOUT_MS": "3000",
            "KAFKA_CONF_HEARTBEAT_INTERVAL_MS": "300",
            "LOG_LEVEL": ProcessInfo.processInfo.environment["FAULT_LOG_LEVEL"] ?? "notice",
        ].merging(extra) { _, new in new })
    }

    /// Waits until the daemon has handled everything: ready, nothing in flight, caught up — every assigned
    /// partition's lag known and 0, no waiting record's age — and counters still.
    static func waitUntilDrained(_ metricsAddress: String, timeoutSeconds: Double = 180) -> Bool {
        var lastProcessed = -1.0
        var stableSince = Date.distantFuture
        return waitUntil(timeoutSeconds: timeoutSeconds) {
            let text = httpGet("http://\(metricsAddress)/metrics")?.body ?? ""
            let lagSeries = text.split(separator: "\n").filter { $0.hasPrefix("volatility_consumer_lag_records{") }
            guard metricValue(text, "volatility_consumer_ready") == 1,
                metricValue(text, "volatility_consumer_inflight_records") == 0,
                metricValue(text, "volatility_consumer_lag_seconds") == 0,
                let assigned = metricValue(text, "volatility_consumer_assigned_partitions"), assigned > 0,
                lagSeries.count == Int(assigned), lagSeries.allSatisfy({ $0.hasSuffix(" 0") || $0.hasSuffix(" 0.0") }),
                let processed = metricValue(text, "volatility_consumer_messages_processed_total")
            else {
                stableSince = .distantFuture
                return false
            }
            if processed != lastProcessed {
                lastProcessed = processed
                stableSince = Date()
                return false
            }
            return Date().timeIntervalSince(stableSince) >= 1.5
        }
    }

    /// The daemon's own account of what it made, delivered, skipped and failed: beside an audit that finds
    /// outputs missing, it tells a daemon that never produced them from a broker that lost acknowledged ones.
    static func counters(_ metricsAddress: String) -> String {
        let text = httpGet("http://\(metricsAddress)/metrics")?.body ?? ""
        let names = [
            "volatility_consumer_messages_processed_total", "volatility_consumer_predictions_made_total",
            "volatility_consumer_predictions_total", "volatility_consumer_records_skipped_total",
            "volatility_consumer_errors_total", "volatility_consumer_dlq_records_total",
            "volatility_consumer_rebalances_total", "volatility_consumer_state_rebuild_records_total",
            "volatility_consumer_offset_commits_total", "volatility_consumer_fetch_restarts_total",
        ]
        return text.split(separator: "\n").filter { line in
            names.contains { line.hasPrefix($0) } && !line.hasPrefix("#")
        }.joined(separator: "; ")
    }

    /// Waits until the broker says the daemons are done: their group's committed offsets reach every input
    /// partition's log end. The daemon's own "drained" (``waitUntilDrained(_:timeoutSeconds:)``) reads its lag,
    /// which a partition librdkafka stopped fetching can under-report until its end is looked up; this does not
    /// depend on the daemon. Returns `nil` when done, else what is still behind. Not waited for when the daemon did
    /// not drain (`drained` false): that failure is reported already, and its context is wanted now.
    ///
    /// One inspector (a consumer, made again only after an error) reads every half second: each read is a round
    /// trip per partition, and the daemon being waited for shares the cores.
    static func waitUntilCommittedToTheEnd(
        _ bootstrap: String, partitions: Int, group: String = "volatility-consumer", timeoutSeconds: Double = 120,
        drained: Bool = true
    ) -> String? {
        guard drained else { return "not checked: the daemon did not drain" }
        var behind: String? = "never read"
        let start = Date()
        defer {
            // Long after a "drained" only when a partition was not being fetched (the fetch watch restarts it).
            print("input committed to its end: \(behind == nil ? "yes" : "no"), \(String(format: "%.1f", Date().timeIntervalSince(start))) s after the daemon's drained")
        }
        var inspector: TopicInspector?
        waitUntil(timeoutSeconds: timeoutSeconds, pollSeconds: 0.5) {
            do {
                let reader = try inspector ?? TopicInspector(bootstrap: bootstrap, group: group)
                inspector = reader
                let ends = try reader.watermarks(topic: "ticks.features", partitions: partitions).map(\.high)
                let committed = try reader.committed(topic: "ticks.features", partitions: partitions)
                let lagging = (0..<partitions).filter { ends[$0] > 0 && committed[$0] != ends[$0] }
                behind = lagging.isEmpty ? nil : lagging.map { "[\($0)] committed \(committed[$0].map(String.init) ?? "none") of \(ends[$0])" }.joined(separator: ", ")
            } catch {
                behind = "\(error)"
                inspector = nil
            }
            return behind == nil
        }
        return behind
    }

    @Test func killNineAtRandomPointsLosesNothing() throws {
        let cycles = Int(ProcessInfo.processInfo.environment["FAULT_KILL_CYCLES"] ?? "") ?? 20
        var generator = SeededGenerator(seed: UInt64(ProcessInfo.processInfo.environment["FAULT_SEED"] ?? "") ?? 20_261_123)
        // 160k records of ~600 bytes over 64 partitions stay well inside the mock's ~5 MiB per partition.
        let cluster = try MockClusterProcess(partitions: 64)
        var produced = 0
        for cycle in 1...cycles {
            let daemon = try ChildProcess(name: "consumerd-\(cycle)", arguments: [], environment: Self.environment(cluster.bootstrap))
            let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
            #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 }, "cycle \(cycle): never ready")
            let burst = try Self.burst(cluster.bootstrap, count: 8000, products: 256)
            // Kill somewhere inside the 1.6 s burst.
            usleep(UInt32.random(in: 200_000...1_500_000, using: &generator))
            #expect(daemon.stop(signal: SIGKILL) != nil)
            #expect(burst.waitForExit(timeoutSeconds: 60) == 0, "replay failed: \(burst.stderr.suffix(500))")
            produced += 8000
        }
        let last = try ChildProcess(name: "consumerd-final", arguments: [], environment: Self.environment(cluster.bootstrap))
        let metrics = try #require(last.waitForLine(prefix: "METRICS="))
        #expect(Self.waitUntilDrained(metrics), "the final daemon never drained: \(last.stderr.suffix(2000))")
        let behind = Self.waitUntilCommittedToTheEnd(cluster.bootstrap, partitions: 64)
        #expect(behind == nil, "input not committed to its end: \(behind ?? "")\n\(last.stderr.suffix(2000))")
        let audit = try DaemonIntegrationTests.runAudit(bootstrap: cluster.bootstrap)
        print("kill -9 × \(cycles): inputs \(audit.inputs) (produced \(produced)), outputs \(audit.outputs), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(audit.inputs == produced, "the broker dropped input (retention): the audit would be meaningless")
        #expect(
            audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0,
            "\(audit)\nthe final daemon's log: \(last.stderr.suffix(3000))"
        )
        #expect(last.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    @Test func brokersDownLeaderMovesAndRequestErrorsLoseNothing() throws {
        let cluster = try MockClusterProcess(partitions: 8, brokers: 3)
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: Self.environment(cluster.bootstrap))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 })

        let first = try Self.burst(cluster.bootstrap, count: 15_000)
        usleep(500_000)
        for broker in 1...3 { #expect(cluster.command("down \(broker)") == "ok") }
        let notReady = waitUntil(timeoutSeconds: 30) { httpGet("http://\(metrics)/readyz")?.status == 503 }
        #expect(notReady, "/readyz stayed ok with every broker down")
        #expect(httpGet("http://\(metrics)/healthz")?.status == 200, "the daemon must stay alive while brokers are down")
        usleep(10_000_000)  // the fault itself: brokers down for 10 s
        for broker in 1...3 { #expect(cluster.command("up \(broker)") == "ok") }
        #expect(waitUntil(timeoutSeconds: 90) { httpGet("http://\(metrics)/readyz")?.status == 200 }, "not ready after the brokers came back")
        _ = first.waitForExit(timeoutSeconds: 120)  // its own deliveries may have failed while the brokers were down

        let second = try Self.burst(cluster.bootstrap, count: 15_000)
        #expect(cluster.command("leader ticks.features 0 2") == "ok")
        #expect(cluster.command("leader ticks.predictions 1 3") == "ok")
        #expect(cluster.command("error 0 6 20") == "ok")   // Produce: NOT_LEADER_FOR_PARTITION
        #expect(cluster.command("error 1 6 10") == "ok")   // Fetch: NOT_LEADER_FOR_PARTITION
        #expect(cluster.command("error 8 15 3") == "ok")   // OffsetCommit: COORDINATOR_NOT_AVAILABLE
        #expect(cluster.command("error 11 15 2") == "ok")  // JoinGroup: COORDINATOR_NOT_AVAILABLE
        #expect(second.waitForExit(timeoutSeconds: 120) == 0, "replay failed: \(second.stderr.suffix(500))")

        #expect(Self.waitUntilDrained(metrics), "never drained: \(daemon.stderr.suffix(2000))")
        let behind = Self.waitUntilCommittedToTheEnd(cluster.bootstrap, partitions: 8)
        #expect(behind == nil, "input not committed to its end: \(behind ?? "")\ncounters: \(Self.counters(metrics))\n\(daemon.stderr.suffix(4000))")
        #expect(daemon.process.isRunning, "the daemon died under faults")
        let audit = try DaemonIntegrationTests.runAudit(bootstrap: cluster.bootstrap)
        print("broker faults: inputs \(audit.inputs), outputs \(audit.outputs), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(
            audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0,
            "\(audit)\nthe daemon's counters: \(Self.counters(metrics))\nthe daemon's log: \(daemon.stderr.suffix(12000))"
        )
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    /// Places the group on broker 1, each input partition on `inputLeader(partition)`, every prediction on
    /// `outputLeader` and every dead letter on broker 1; then starts a daemon that pauses fetching at `maxInflight`
    /// outputs in flight (deliveries time out after 4 s and are retried), and waits until it is ready.
    static func backPressuredDaemon(
        _ cluster: MockClusterProcess, partitions: Int, inputLeader: (Int) -> Int, outputLeader: Int, maxInflight: Int
    ) throws -> (daemon: ChildProcess, metrics: String) {
        #expect(cluster.command("coordinator group volatility-consumer 1") == "ok")
        for partition in 0..<partitions {
            #expect(cluster.command("leader ticks.features \(partition) \(inputLeader(partition))") == "ok")
            #expect(cluster.command("leader ticks.predictions \(partition) \(outputLeader)") == "ok")
            #expect(cluster.command("leader ticks.features.dlq \(partition) 1") == "ok")
        }
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: environment(cluster.bootstrap, extra: [
            "MAX_INFLIGHT": String(maxInflight),
            "KAFKA_PRODUCER_CONF_MESSAGE_TIMEOUT_MS": "4000",
            "LOG_LEVEL": "info",
        ]))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 })
        return (daemon, metrics)
    }

    @Test func outputBrokerDownPausesFetchingThenDrains() throws {
        let cluster = try MockClusterProcess(partitions: 4, brokers: 3)
        // Inputs and the group live on broker 1, outputs on broker 2: taking broker 2 down blocks only the outputs.
        let maxInflight = 2000
        let (daemon, metrics) = try Self.backPressuredDaemon(
            cluster, partitions: 4, inputLeader: { _ in 1 }, outputLeader: 2, maxInflight: maxInflight)
        let stream = try Self.burst(cluster.bootstrap, count: 20_000, products: 32)
        #expect(waitUntil(timeoutSeconds: 30) {
            (metricValue(httpGet("http://\(metrics)/metrics")?.body ?? "", "volatility_consumer_predictions_made_total") ?? 0) >= 1000
        })
        #expect(cluster.command("down 2") == "ok")
        var peakInflight = 0.0
        let outageEnd = Date().addingTimeInterval(10)
        while Date() < outageEnd {
            let text = httpGet("http://\(metrics)/metrics")?.body ?? ""
            peakInflight = max(peakInflight, metricValue(text, "volatility_consumer_inflight_records") ?? 0)
            usleep(100_000)
        }
        #expect(cluster.command("up 2") == "ok")
        #expect(stream.waitForExit(timeoutSeconds: 120) == 0)
        #expect(Self.waitUntilDrained(metrics), "never drained after the outage: \(daemon.stderr.suffix(2000))")
        let behind = Self.waitUntilCommittedToTheEnd(cluster.bootstrap, partitions: 4)
        #expect(behind == nil, "input not committed to its end: \(behind ?? "")\n\(daemon.stderr.suffix(2000))")
        #expect(daemon.stderr.contains("fetching paused"), "no back-pressure while outputs could not be delivered")
        // Bounded: at most one batch (512) past the cap, never the whole backlog.
        #expect(peakInflight <= Double(maxInflight + 512), "in-flight outputs grew to \(peakInflight)")
        let audit = try DaemonIntegrationTests.runAudit(bootstrap: cluster.bootstrap)
        print("outputs unavailable 10 s: inputs \(audit.inputs), outputs \(audit.outputs), peak in-flight \(Int(peakInflight)) (cap \(maxInflight)), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0, "\(audit)")
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    @Test func twoDaemonsInOneGroupTakeOverFromEachOther() throws {
        let cluster = try MockClusterProcess(partitions: 3)
        // Info level: the rebalances and the shutdown steps show in the failure message if a daemon does not stop.
        let environment = Self.environment(cluster.bootstrap, extra: ["LOG_LEVEL": "info"])
        let a = try ChildProcess(name: "consumerd-a", arguments: [], environment: environment)
        let b = try ChildProcess(name: "consumerd-b", arguments: [], environment: environment)
        let metricsB = try #require(b.waitForLine(prefix: "METRICS="))
        #expect(a.waitForLine(prefix: "METRICS=") != nil)
        let assignedB = waitUntil(timeoutSeconds: 60) {
            (metricValue(httpGet("http://\(metricsB)/metrics")?.body ?? "", "volatility_consumer_assigned_partitions") ?? 0) >= 1
        }
        #expect(assignedB)

        let stream = try Self.burst(cluster.bootstrap, count: 12_000, products: 48)  // ~2 MiB per partition: within the mock's retention
        usleep(1_500_000)
        #expect(a.stop(signal: SIGKILL) != nil)
        // B takes over all three partitions once A's session expires.
        let tookOver = waitUntil(timeoutSeconds: 60) {
            metricValue(httpGet("http://\(metricsB)/metrics")?.body ?? "", "volatility_consumer_assigned_partitions") == 3
        }
        #expect(tookOver, "B never took over A's partitions")
        let restartedA = try ChildProcess(name: "consumerd-a2", arguments: [], environment: environment)
        let metricsA = try #require(restartedA.waitForLine(prefix: "METRICS="))
        #expect(stream.waitForExit(timeoutSeconds: 120) == 0)
        let rebalanced = waitUntil(timeoutSeconds: 60) {
            (metricValue(httpGet("http://\(metricsA)/metrics")?.body ?? "", "volatility_consumer_assigned_partitions") ?? 0) >= 1
        }
        #expect(rebalanced, "the restarted daemon got no partition back")
        #expect(Self.waitUntilDrained(metricsA) && Self.waitUntilDrained(metricsB))
        let behind = Self.waitUntilCommittedToTheEnd(cluster.bootstrap, partitions: 3)
        #expect(behind == nil, "input not committed to its end: \(behind ?? "")")
        let audit = try DaemonIntegrationTests.runAudit(bootstrap: cluster.bootstrap)
        #expect(audit.inputs == 12_000, "the broker dropped input (retention): the audit would be meaningless")
        print("two daemons, kill and restart one: inputs \(audit.inputs), outputs \(audit.outputs), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0, "\(audit)")
        // SIGTERM right after a rebalance: the survivor may be rejoining or rebuilding state when it arrives; it
        // must still leave cleanly within a typical termination grace period (30 s).
        for daemon in [restartedA, b] {
            let status = daemon.stop(signal: SIGTERM, timeoutSeconds: 30)
            #expect(status == 0, "did not stop cleanly: \(daemon.stderr.suffix(4000))\n\(status == nil ? daemon.threadStacks() : "")")
            _ = daemon.stop(signal: SIGKILL, timeoutSeconds: 5)
        }
    }
}

/// A small deterministic random generator (SplitMix64), so a failing fault schedule can be replayed by its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

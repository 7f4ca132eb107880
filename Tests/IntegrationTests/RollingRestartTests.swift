import Foundation
import Testing

/// A rolling restart of four daemons in one consumer group while ticks flow at 5k records/s: one instance at a
/// time gets SIGTERM, exits, starts again and becomes ready before the next one goes. Afterwards nothing may be
/// lost or mismatched; the figures that tell the setups apart are printed, not asserted: records replayed by
/// state rebuilds, duplicates, and the longest time with no output at all during the restarts.
///
/// `ROLLING_ROUNDS` (default 1): restarts of every instance. `ROLLING_ALL_SETUPS=1` runs cooperative-sticky and
/// static membership too (default: eager only, to keep CI short; `ROLLING_SETUPS=cooperativeSticky,...` picks by
/// name). `ROLLING_PARTITIONS` overrides the partition count (default 128, 256 from 2 rounds on).
/// `scripts/bench/rolling-restart.sh` runs all three setups for 3 rounds and keeps the figures.
/// Diagnostics: `ROLLING_DAEMON_ENV="LOG_LEVEL=debug;KAFKA_PRODUCER_CONF_DEBUG=eos"` adds variables to every daemon;
/// `ROLLING_LOG_DIR=DIR` keeps every incarnation's standard error in DIR.
@Suite(.serialized) struct RollingRestartTests {
    enum Setup: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case eager
        case cooperativeSticky
        case staticMembership

        func environment(instance: Int) -> [String: String] {
            switch self {
            case .eager: [:]
            case .cooperativeSticky: ["KAFKA_CONSUMER_CONF_PARTITION_ASSIGNMENT_STRATEGY": "cooperative-sticky"]
            // Distinct per instance, stable across its restarts (KIP-345).
            case .staticMembership: ["KAFKA_GROUP_INSTANCE_ID": "consumerd-rolling-\(instance)"]
            }
        }

        var testDescription: String {
            switch self {
            case .eager: "eager (librdkafka default range,roundrobin)"
            case .cooperativeSticky: "cooperative-sticky"
            case .staticMembership: "static membership (eager, group.instance.id per instance)"
            }
        }

        /// `ROLLING_SETUPS=eager,cooperativeSticky,staticMembership` picks setups by name; `ROLLING_ALL_SETUPS=1`
        /// runs all three; the default is eager only.
        static var selected: [Setup] {
            let environment = ProcessInfo.processInfo.environment
            if let names = environment["ROLLING_SETUPS"] {
                return names.split(separator: ",").compactMap { Setup(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            }
            return environment["ROLLING_ALL_SETUPS"] == "1" ? allCases : [.eager]
        }
    }

    static let instances = 4
    static let rate = 5000
    static let topics = ["ticks.features", "ticks.predictions", "ticks.features.dlq"]

    /// Sums `records=N` (and `seconds=S`) over the daemon's "state rebuilt from the log" lines (info level).
    static func rebuildTotals(_ daemon: ChildProcess) -> (events: Int, records: Int, seconds: Double) {
        var totals = (events: 0, records: 0, seconds: 0.0)
        for line in daemon.stderr.split(separator: "\n") where line.contains("state rebuilt from the log") {
            totals.events += 1
            totals.records += Int(field("records", in: line) ?? "") ?? 0
            totals.seconds += Double(field("seconds", in: line) ?? "") ?? 0
        }
        return totals
    }

    /// The daemon's warnings and errors (librdkafka's own log lines left out): a rebuild that could not read the
    /// committed offsets or the log, a failed commit — what explains lost or mismatched outputs.
    static func warnings(_ daemon: ChildProcess) -> [String] {
        daemon.stderr.split(separator: "\n").filter { line in
            (line.contains(" warning ") || line.contains(" error ") || line.contains(" critical "))
                && !line.contains("source=librdkafka")
        }.map { String($0.prefix(400)) }
    }

    /// The value of `name=value` in a text log line (swift-log's metadata), up to the next space.
    static func field(_ name: String, in line: Substring) -> String? {
        guard let range = line.range(of: " \(name)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }

    /// `ROLLING_DAEMON_ENV="NAME=value;NAME=value"`: added to every daemon's environment (diagnostics, e.g.
    /// `LOG_LEVEL=debug;KAFKA_PRODUCER_CONF_DEBUG=eos`).
    static var diagnosticEnvironment: [String: String] {
        let raw = ProcessInfo.processInfo.environment["ROLLING_DAEMON_ENV"] ?? ""
        var result: [String: String] = [:]
        for pair in raw.split(separator: ";") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return result
    }

    /// `ROLLING_LOG_DIR=DIR`: every incarnation's standard error is written to DIR/consumerd-N-#K.log.
    static func keepLogs(_ incarnations: [ChildProcess]) {
        guard let directory = ProcessInfo.processInfo.environment["ROLLING_LOG_DIR"] else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (index, daemon) in incarnations.enumerated() {
            try? daemon.stderr.write(toFile: "\(directory)/\(daemon.name)-#\(index).log", atomically: false, encoding: .utf8)
        }
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    @Test(arguments: Setup.selected)
    func rollingRestartOfFourInstancesLosesNothing(setup: Setup) throws {
        let rounds = environmentNumber("ROLLING_ROUNDS", default: 1)
        let partitions = environmentNumber("ROLLING_PARTITIONS", default: rounds >= 2 ? 256 : 128)
        // Retention budget: ~4,000 records per partition puts ~2.5 MiB of predictions (~650 bytes) on an average
        // output partition, half the mock's ~5 MiB, leaving room for hashing skew and duplicates. The replay stops
        // at that many records even if the restarts take longer (then printed); the watermark check proves it.
        let replayCap = partitions * 4000
        let products = partitions * 8
        let started = Date()
        let cluster = try MockClusterProcess(partitions: partitions)

        var current: [ChildProcess] = []
        var metrics: [String] = []
        var incarnations: [ChildProcess] = []
        func start(_ instance: Int) throws -> (ChildProcess, String) {
            let daemon = try ChildProcess(name: "consumerd-\(instance)", arguments: [], environment: daemonEnvironment(
                bootstrap: cluster.bootstrap,
                extra: [
                    "KAFKA_CONF_SESSION_TIMEOUT_MS": "6000",
                    "KAFKA_CONF_HEARTBEAT_INTERVAL_MS": "500",
                    "LOG_LEVEL": "info",
                ].merging(setup.environment(instance: instance)) { _, new in new }.merging(Self.diagnosticEnvironment) { _, new in new }
            ))
            incarnations.append(daemon)
            guard let address = daemon.waitForLine(prefix: "METRICS=") else {
                throw TestFailure("instance \(instance) printed no METRICS line: \(daemon.stderr.suffix(2000))")
            }
            return (daemon, address)
        }
        func assignedTotal() -> Int {
            metrics.reduce(0) { $0 + Int(metricValue(httpGet("http://\($1)/metrics")?.body ?? "", "volatility_consumer_assigned_partitions") ?? 0) }
        }
        for instance in 0..<Self.instances {
            let (daemon, address) = try start(instance)
            current.append(daemon)
            metrics.append(address)
        }
        let groupFormed = waitUntil(timeoutSeconds: 120) {
            metrics.allSatisfy { httpGet("http://\($0)/readyz")?.status == 200 } && assignedTotal() == partitions
        }
        try #require(groupFormed, "the four instances never shared the \(partitions) partitions: \(current.map { $0.stderr.suffix(800) })")

        let replay = try ChildProcess(
            name: "replay",
            arguments: [
                "replay", ReferenceData.tickFile.path, "--bootstrap-servers", cluster.bootstrap, "--rate", String(Self.rate),
                "--loop", "--products", String(products), "--count", String(replayCap),
            ]
        )
        let flowing = waitUntil(timeoutSeconds: 60) {
            metrics.allSatisfy { (metricValue(httpGet("http://\($0)/metrics")?.body ?? "", "volatility_consumer_predictions_made_total") ?? 0) > 0 }
        }
        #expect(flowing, "not every instance produced predictions before the restarts")
        // A few seconds of undisturbed flow: the steady-state gap between outputs, for comparison.
        let steadyStart = Date()
        usleep(5_000_000)

        // The restarts.
        let phaseStart = Date()
        var stopSeconds: [Double] = []
        var readySeconds: [Double] = []
        for round in 1...rounds {
            for instance in 0..<Self.instances {
                let stopping = Date()
                let status = current[instance].stop(signal: SIGTERM, timeoutSeconds: 60)
                if status == nil { print("instance \(instance) hung after SIGTERM:\n\(current[instance].threadStacks())") }
                #expect(status == 0, "round \(round), instance \(instance): SIGTERM did not end it with 0: \(current[instance].stderr.suffix(3000))")
                _ = current[instance].stop(signal: SIGKILL, timeoutSeconds: 10)
                stopSeconds.append(Date().timeIntervalSince(stopping))
                let starting = Date()
                let (daemon, address) = try start(instance)
                current[instance] = daemon
                metrics[instance] = address
                let ready = waitUntil(timeoutSeconds: 120) { httpGet("http://\(address)/readyz")?.status == 200 }
                #expect(ready, "round \(round), instance \(instance): not ready within 120 s: \(daemon.stderr.suffix(3000))")
                readySeconds.append(Date().timeIntervalSince(starting))
            }
        }
        let lastReady = Date()
        usleep(10_000_000)  // the stream keeps flowing: what the last restart still costs the others shows here
        let phaseEnd = Date()
        let replayRunning = replay.process.isRunning
        replay.stop(signal: SIGTERM, timeoutSeconds: 30)

        // The group may owe minutes of input (eager assignment stops it for the whole restart phase) and the mock
        // serves a catch-up slowly (see DrainWatch): a fixed deadline would call that a stall. Only an instance that
        // stops moving for 120 s fails.
        let drainStart = Date()
        var drained = true
        var longestDrainPause = 0.0
        for (instance, address) in metrics.enumerated() {
            let (verdict, _, longestQuiet) = DrainWatch.wait(metricsAddress: address, stallSeconds: 120, limitSeconds: 1200)
            longestDrainPause = max(longestDrainPause, longestQuiet)
            guard verdict != .drained else { continue }
            drained = false
            print("instance \(instance) NOT DRAINED (\(verdict)):\n\(LongOutageTests.failureContext(current[instance], metrics: address))")
        }
        let drainSeconds = Date().timeIntervalSince(drainStart)
        Self.keepLogs(incarnations)
        #expect(drained, "not every instance drained after the restarts: stalled (nothing handled or acknowledged for 120 s) or still catching up after 1,200 s; see the printed verdict")
        let assignedAtEnd = assignedTotal()
        #expect(assignedAtEnd == partitions, "\(assignedAtEnd) of \(partitions) partitions assigned after the restarts")
        let behind = FaultInjectionTests.waitUntilCommittedToTheEnd(cluster.bootstrap, partitions: partitions, drained: drained)
        #expect(behind == nil, "input not committed to its end: \(behind ?? "")")

        let inspector = try TopicInspector(bootstrap: cluster.bootstrap)
        let truncated = try Self.topics.flatMap { try inspector.truncatedPartitions(topic: $0, partitions: partitions) }
        #expect(truncated.isEmpty, "the mock's retention dropped records, the audit is meaningless: \(truncated.prefix(10))")
        let inputCount = try inspector.watermarks(topic: "ticks.features", partitions: partitions).reduce(0) { $0 + Int($1.high) }

        let timestamps = try inspector.recordTimestamps(topic: "ticks.predictions", partitions: partitions)
        func milliseconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1000) }
        let steadyGap = longestGap(timestampsMs: timestamps, window: milliseconds(steadyStart)...milliseconds(phaseStart))
        let phaseGap = longestGap(timestampsMs: timestamps, window: milliseconds(phaseStart)...milliseconds(phaseEnd))
        let rebuilds = incarnations.map(Self.rebuildTotals)
        let rebuildRecords = rebuilds.reduce(0) { $0 + $1.records }
        let rebuildEvents = rebuilds.reduce(0) { $0 + $1.events }
        let rebuildSeconds = rebuilds.reduce(0) { $0 + $1.seconds }
        let restarts = rounds * Self.instances
        print("""
            rolling restart [\(setup.rawValue)]: \(Self.instances) instances, \(rounds) round(s) = \(restarts) restarts, \(partitions) partitions, \(Self.rate) records/s; \
            restart phase \(seconds(lastReady.timeIntervalSince(phaseStart))) (+10 s settle), SIGTERM→exit median \(seconds(Self.median(stopSeconds))) max \(seconds(stopSeconds.max() ?? 0)), \
            start→ready median \(seconds(Self.median(readySeconds))) max \(seconds(readySeconds.max() ?? 0)); \
            state rebuilds: \(rebuildEvents) partition rebuilds replaying \(rebuildRecords) records in \(seconds(rebuildSeconds)) (all instances); \
            \(drained ? "all drained" : "NOT all drained") \(seconds(drainSeconds)) after the input stopped (longest pause in progress \(seconds(longestDrainPause))); \
            longest time with no output: \(phaseGap.milliseconds) ms during the restarts (starting \(seconds(Double(phaseGap.startMs - milliseconds(phaseStart)) / 1000)) in), \(steadyGap.milliseconds) ms in 5 s of steady flow before; \
            inputs \(inputCount)\(replayRunning ? "" : "; NOTE: the replay reached its cap of \(replayCap) records before the restart phase ended (raise ROLLING_PARTITIONS)")
            """)
        let audit = try runLongAudit(bootstrap: cluster.bootstrap)
        #expect(audit.inputs == inputCount, "the audit read \(audit.inputs) inputs, the topic holds \(inputCount)")
        let warnings = incarnations.enumerated().flatMap { index, daemon in Self.warnings(daemon).map { "[\(daemon.name) #\(index)] \($0)" } }
        if !warnings.isEmpty || !(audit.lost.count == 0 && audit.mismatched.count == 0) {
            print("rolling restart [\(setup.rawValue)]: \(warnings.count) warning lines from the daemons (first 20):\n\(warnings.prefix(20).joined(separator: "\n"))")
        }
        print("""
            rolling restart [\(setup.rawValue)] audit: inputs \(audit.inputs), outputs \(audit.outputs), duplicated \(audit.duplicated.count), \
            lost \(audit.lost.count), mismatched \(audit.mismatched.count); test took \(seconds(Date().timeIntervalSince(started)))
            """)
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0, "\(audit)")
        for daemon in current {
            let status = daemon.stop(signal: SIGTERM, timeoutSeconds: 30)
            #expect(status == 0, "did not stop cleanly: \(daemon.stderr.suffix(3000))")
            _ = daemon.stop(signal: SIGKILL, timeoutSeconds: 5)
        }
    }
}

import Foundation
import StreamConsumer
import Testing

/// A stalled processing loop, end to end: the daemon is blocked by the stall fault hook while records wait
/// behind the blocking one, `/metrics` is scraped every second, and the captured series are replayed through
/// the shipped alert rules with `promtool test rules`. The stall alert must fire; the scrape-time lag must grow.
///
/// Time compression: a 45 s stall is too short for alerts with minute thresholds, so the capture is replayed
/// `StallCapture.compression` times slower — sample i sits at promtool time i × compression s — and every
/// timestamp-valued series is rebased so that, at each sample, promtool's `time()` minus the value equals the
/// real age at that scrape times the compression. Durations (lag_seconds) are scaled the same way; counts and
/// 0/1 gauges are replayed as captured. Rules are evaluated every 15 s, as shipped.
@Suite(.serialized) struct StallAlertTests {
    static let stallSeconds = 45.0
    static let marker = "STALL-HERE"

    @Test func stalledLoopFiresTheStallAlertAndLagGrows() throws {
        let promtool = try #require(StallCapture.executableInPath("promtool"), "promtool not in PATH (apt-get install prometheus)")
        let cluster = try MockClusterProcess(partitions: 1)
        let daemon = try ChildProcess(
            name: "consumerd", arguments: [],
            environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: [
                "LIVENESS_WINDOW_SECONDS": "5",
                "CONSUMERD_FAULT_STALL_MARKER": Self.marker,
                "CONSUMERD_FAULT_STALL_SECONDS": String(Int(Self.stallSeconds)),
            ])
        )
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 }, "never ready: \(daemon.stderr.suffix(2000))")

        // A few ordinary records first, so last_record_timestamp and lag have real values before the stall.
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrap)
        func produce(_ count: Int, note: String = "") throws {
            for _ in 0..<count {
                let ts = Date().timeIntervalSince1970
                try producer.send(topic: "ticks.features", key: "X", value: Array(#"{"product_id":"X","price":1,"ts":\#(ts),"note":"\#(note)"}"#.utf8))
            }
            #expect(producer.flush(timeoutMs: 10_000) == 0)
        }
        try produce(5)
        #expect(waitUntil(timeoutSeconds: 30) {
            (metricValue(httpGet("http://\(metrics)/metrics")?.body ?? "", "volatility_consumer_messages_processed_total") ?? 0) >= 5
        }, "the warm-up records were not handled")

        // Scrape every second: 3 healthy samples, then the blocking record and 20 records waiting behind it.
        var capture = StallCapture(instance: metrics)
        let deadline = Date().addingTimeInterval(Self.stallSeconds + 30)
        var index = 0
        var stallSeen = false
        var samplesAfterResume = -1
        while Date() < deadline, samplesAfterResume < 3 {
            let tick = Date().addingTimeInterval(1)
            if index == 3 {
                try produce(1, note: Self.marker)
                try produce(20)
            }
            capture.scrape()
            index += 1
            if let age = capture.samples.last?.progressAge {
                if age > 5 { stallSeen = true }
                if stallSeen, age < 2, samplesAfterResume < 0 { samplesAfterResume = 0 }
            }
            if samplesAfterResume >= 0 { samplesAfterResume += 1 }
            Thread.sleep(until: tick)  // the sampling interval, not a wait for a condition
        }
        #expect(stallSeen, "the processing loop never looked stalled: \(daemon.stderr.suffix(2000))")
        #expect(samplesAfterResume >= 0, "the loop did not resume after the \(Int(Self.stallSeconds)) s stall")

        // The scrape-time lag must grow during the stall (it needs the engine's LagSource).
        let stalled = capture.stalledIndices.map { capture.samples[$0] }
        #expect(stalled.count >= 20, "only \(stalled.count) scrapes inside the stall")
        let firstLag = stalled.first?.value("volatility_consumer_lag_seconds")
        let lastLag = stalled.last?.value("volatility_consumer_lag_seconds")
        #expect(
            (firstLag ?? 0) + 15 <= (lastLag ?? 0),
            "lag_seconds did not grow during the stall (first \(String(describing: firstLag)), last \(String(describing: lastLag))): is the engine's LagSource installed?"
        )
        #expect(stalled.allSatisfy { $0.value("volatility_consumer_health_status") == 0 || ($0.progressAge ?? 0) <= 6 })

        // Replay through the shipped rules.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stall-alert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let rules = TestPaths.repositoryRoot.appendingPathComponent("config/prometheus/rules/consumerd-alerts.yml").path

        let loopStalled = try #require(capture.ruleTest(alert: .loopStalled, rules: rules), "no evaluation step inside the stall")
        let loopFile = directory.appendingPathComponent("loop-stalled.test.yml")
        try loopStalled.write(to: loopFile, atomically: true, encoding: .utf8)
        let loopResult = try StallCapture.run(promtool, ["test", "rules", loopFile.path])
        #expect(loopResult.status == 0, "ConsumerLoopStalled did not fire on the captured stall:\n\(loopResult.output)\n\(loopStalled)")

        let waiting = try #require(capture.ruleTest(alert: .recordsWaiting, rules: rules), "no evaluation step inside the stall")
        let waitingFile = directory.appendingPathComponent("records-waiting.test.yml")
        try waiting.write(to: waitingFile, atomically: true, encoding: .utf8)
        let waitingResult = try StallCapture.run(promtool, ["test", "rules", waitingFile.path])
        #expect(
            waitingResult.status == 0,
            "ConsumerRecordsWaitingNotProcessed did not fire on the captured stall (needs lag_records > 0 at scrape time):\n\(waitingResult.output)\n\(waiting)"
        )

        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 20) == 0)
    }
}

/// The scrapes of one stall and their translation into a promtool rule test.
struct StallCapture {
    /// Replay speed: one real second becomes this many promtool seconds. 5 keeps samples (every 5 s) aligned
    /// with the 15 s evaluation steps, and maps a 45 s stall to 225 s, past both alerts' firing points
    /// (about 135 s and 165 s after the stall's start).
    static let compression = 5.0
    static let evaluationInterval = 15

    enum Alert {
        case loopStalled
        case recordsWaiting
    }

    struct Sample {
        /// Wall-clock epoch seconds when the scrape answered.
        var time: Double
        /// The exposition, or nil when the scrape failed.
        var text: String?

        func value(_ series: String) -> Double? {
            text.flatMap { metricValue($0, series) }
        }

        /// The `volatility_consumer_lag_records` series: labels as rendered (`topic="…",partition="…"`) → value.
        var lagRecords: [String: Double] {
            var out: [String: Double] = [:]
            let prefix = "volatility_consumer_lag_records{"
            for line in (text ?? "").split(separator: "\n") where line.hasPrefix(prefix) {
                guard let close = line.lastIndex(of: "}") else { continue }
                let labels = String(line[line.index(line.startIndex, offsetBy: prefix.count)..<close])
                out[labels] = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces))
            }
            return out
        }

        /// Seconds between this scrape and the loop's last turn.
        var progressAge: Double? {
            value("volatility_consumer_last_progress_timestamp_seconds").map { time - $0 }
        }
    }

    let instance: String
    private(set) var samples: [Sample] = []

    init(instance: String) {
        self.instance = instance
    }

    mutating func scrape() {
        let body = httpGet("http://\(instance)/metrics").flatMap { $0.status == 200 ? $0.body : nil }
        samples.append(Sample(time: Date().timeIntervalSince1970, text: body))
    }

    /// promtool time of sample `index`.
    private func promtoolTime(_ index: Int) -> Double { Double(index) * Self.compression }

    /// A timestamp-valued sample rebased onto promtool's clock: `time() − value` at the sample equals the real
    /// age times the compression. Whole seconds, so the alert's humanized value is exact. 0 ("never") stays 0.
    private func rebased(_ index: Int, _ value: Double) -> Double {
        guard value > 0 else { return 0 }
        return (promtoolTime(index) - (samples[index].time - value) * Self.compression).rounded()
    }

    private func format(_ value: Double?) -> String {
        guard let value else { return "_" }
        return value == value.rounded() ? String(Int64(value)) : String(format: "%.3f", value)
    }

    private func labels(_ extra: String = "") -> String {
        #"job="consumerd", instance="\#(instance)""# + (extra.isEmpty ? "" : ", " + extra.replacingOccurrences(of: ",", with: ", "))
    }

    /// The input series: rebased timestamps, scaled lag_seconds, counters and gauges as captured, `up`.
    private func inputSeries() -> [(series: String, values: [Double?])] {
        let indices = samples.indices
        var out: [(series: String, values: [Double?])] = [
            ("up{\(labels())}", indices.map { samples[$0].text == nil ? 0 : 1 }),
        ]
        for name in ["volatility_consumer_last_progress_timestamp_seconds", "volatility_consumer_last_record_timestamp_seconds"] {
            out.append(("\(name){\(labels())}", indices.map { i in samples[i].value(name).map { rebased(i, $0) } }))
        }
        out.append((
            "volatility_consumer_lag_seconds{\(labels())}",
            indices.map { samples[$0].value("volatility_consumer_lag_seconds").map { $0 * Self.compression } }
        ))
        for name in ["volatility_consumer_messages_processed_total", "volatility_consumer_health_status"] {
            out.append(("\(name){\(labels())}", indices.map { samples[$0].value(name) }))
        }
        let partitions = Set(samples.flatMap { $0.lagRecords.keys }).sorted()
        for partition in partitions {
            out.append(("volatility_consumer_lag_records{\(labels(partition))}", indices.map { samples[$0].lagRecords[partition] }))
        }
        return out
    }

    /// The scrapes taken inside the stall: the loop's last turn more than 5 s old and no record handled since
    /// the first such scrape. (The scrape that catches the blocking record finished but the loop's turn not yet
    /// over already shows the record handled and the lag of the moment: it is not "inside" any more.)
    var stalledIndices: [Int] {
        guard let first = samples.indices.first(where: { (samples[$0].progressAge ?? 0) > 5 }) else { return [] }
        let handled = samples[first].value("volatility_consumer_messages_processed_total")
        return samples.indices.filter {
            $0 >= first && (samples[$0].progressAge ?? 0) > 5
                && samples[$0].value("volatility_consumer_messages_processed_total") == handled
        }
    }

    /// The last 15 s evaluation step whose sample is inside the stall, and that sample's index.
    private func lastStalledStep() -> (seconds: Int, index: Int)? {
        let stride = Int(Double(Self.evaluationInterval) / Self.compression)
        return stalledIndices.last { $0 % stride == 0 }.map { (Int(promtoolTime($0)), $0) }
    }

    /// Go's `humanizeDuration` for whole seconds ≥ 1 (what the alert descriptions print).
    static func humanizeDuration(_ seconds: Int) -> String {
        let (d, h, m, s) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60)
        if d > 0 { return "\(d)d \(h)h \(m)m \(s)s" }
        if h > 0 { return "\(h)h \(m)m \(s)s" }
        if m > 0 { return "\(m)m \(s)s" }
        return "\(s)s"
    }

    /// A promtool rule test expecting `alert` to fire at the last evaluation step inside the stall, and not at
    /// the first step (before the blocking record was produced). nil when no step falls inside the stall.
    /// The one base URL every `runbook_url` is built from (`config/prometheus/runbook-base-url`, last non-comment line).
    static var runbookBase: String {
        let file = TestPaths.repositoryRoot.appendingPathComponent("config/prometheus/runbook-base-url")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .last { !$0.isEmpty && !$0.hasPrefix("#") } ?? ""
    }

    func ruleTest(alert: Alert, rules: String) -> String? {
        guard let step = lastStalledStep() else { return nil }
        let (evalSeconds, index) = (step.seconds, step.index)
        let name: String
        let expected: [(String, String)]
        switch alert {
        case .loopStalled:
            name = "ConsumerLoopStalled"
            guard let progress = samples[index].value("volatility_consumer_last_progress_timestamp_seconds") else { return nil }
            let age = Int(promtoolTime(index) - rebased(index, progress))
            expected = [
                ("summary", "consumerd \(instance) processing loop is stuck"),
                ("description", "The processing loop of \(instance) last turned \(Self.humanizeDuration(age)) ago (threshold 60s): no records are handled, no offsets are committed."),
                ("runbook_url", Self.runbookBase + "#consumerloopstalled"),
            ]
        case .recordsWaiting:
            name = "ConsumerRecordsWaitingNotProcessed"
            guard let record = samples[index].value("volatility_consumer_last_record_timestamp_seconds") else { return nil }
            let age = Int(promtoolTime(index) - rebased(index, record))
            expected = [
                ("summary", "consumerd \(instance) has records waiting but handles none"),
                ("description", "\(instance) handled its last input record \(Self.humanizeDuration(age)) ago (threshold 2m) while records are waiting in its assigned partitions."),
                ("runbook_url", Self.runbookBase + "#consumerrecordswaitingnotprocessed"),
            ]
        }
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        var yaml = """
            # Generated by StallAlertTests: \(samples.count) scrapes 1 s apart, replayed \(Int(Self.compression))x slower.
            rule_files:
              - \(quoted(rules))
            evaluation_interval: \(Self.evaluationInterval)s
            tests:
              - name: \(quoted("\(name) fires on a captured stall"))
                interval: \(Int(Self.compression))s
                input_series:

            """
        for (series, values) in inputSeries() {
            yaml += "      - series: '\(series)'\n"
            yaml += "        values: '\(values.map(format).joined(separator: " "))'\n"
        }
        yaml += """
                alert_rule_test:
                  - eval_time: \(Self.evaluationInterval)s
                    alertname: \(name)
                    exp_alerts: []
                  - eval_time: \(evalSeconds)s
                    alertname: \(name)
                    exp_alerts:
                      - exp_labels:
                          severity: critical
                          service: consumerd
                          job: consumerd
                          instance: \(quoted(instance))
                        exp_annotations:

            """
        for (key, value) in expected {
            yaml += "              \(key): \(quoted(value))\n"
        }
        return yaml
    }

    static func executableInPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

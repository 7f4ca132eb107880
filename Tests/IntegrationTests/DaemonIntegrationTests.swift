import FeaturePipeline
import Foundation
import StreamConsumer
import Testing

/// The real `consumerd` binary against librdkafka's mock cluster in a separate process.
@Suite(.serialized) struct DaemonIntegrationTests {
    static let fixtureLineCount = 2827
    static let referencePredictionCount = 2821

    /// Produces the fixture ticks with `consumerd replay` (recorded event times kept).
    static func replayFixture(bootstrap: String, extraArguments: [String] = []) throws -> ChildProcess {
        try ChildProcess(
            name: "replay",
            arguments: ["replay", ReferenceData.tickFile.path, "--keep-timestamps", "--bootstrap-servers", bootstrap]
                + extraArguments
        )
    }

    static func readPredictions(bootstrap: String, atLeast count: Int, timeoutSeconds: Double = 120) throws -> [PublishedPrediction] {
        let reader = try TopicReader(bootstrapServers: bootstrap, topic: "ticks.predictions")
        try reader.start()
        var records = reader.read(timeoutSeconds: timeoutSeconds) { $0.count >= count }
        records += reader.poll(timeoutMs: 500)
        let decoder = JSONDecoder()
        return try records.map { try decoder.decode(PublishedPrediction.self, from: Data($0.value)) }
    }

    /// With the handler on a thread of its own (`PROCESSING_THREADS=2`, the default) and on the processing
    /// thread (1): the same predictions, each partition's in offset order.
    @Test(arguments: ["2", "1"])
    func fixtureTicksGiveTheReferencePredictions(processingThreads: String) throws {
        let cluster = try MockClusterProcess(partitions: 2)
        let replay = try Self.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "replay failed: \(replay.stderr)")

        var environment = daemonEnvironment(bootstrap: cluster.bootstrap)
        environment["PROCESSING_THREADS"] = processingThreads
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: environment)
        let metricsAddress = try #require(daemon.waitForLine(prefix: "METRICS="), "no METRICS line: \(daemon.stderr)")
        let predictions = try Self.readPredictions(bootstrap: cluster.bootstrap, atLeast: Self.referencePredictionCount)
        #expect(predictions.count == Self.referencePredictionCount)

        // Each source offset exactly once; in offset order they are the reference rows.
        let offsets = predictions.map(\.source.offset)
        #expect(Set(offsets).count == offsets.count, "a source offset was published twice")
        // One product, so one output partition: read back in the order produced, each input partition's
        // predictions in its offset order.
        for partition in Set(predictions.map(\.source.partition)) {
            let inOrder = predictions.filter { $0.source.partition == partition }.map(\.source.offset)
            #expect(inOrder == inOrder.sorted(), "partition \(partition)'s predictions were published out of order")
        }
        let reference = try ReferenceData.rows()
        let ordered = predictions.sorted { $0.source.offset < $1.source.offset }
        var mismatches: [String] = []
        for (row, published) in zip(reference, ordered) {
            var ok = ReferenceData.close(published.event_time, row.ts) && published.price == row.price
            for (index, name) in FeatureVector.names.enumerated() {
                ok = ok && ReferenceData.close(published.feature(name) ?? .nan, row.features[index])
            }
            ok = ok && abs(published.probability - row.probability) <= 1e-6
            ok = ok && published.prediction == (row.probability >= 0.5 ? 1 : 0)
            if !ok, mismatches.count < 5 { mismatches.append("offset \(published.source.offset): \(published) vs \(row)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(ordered.allSatisfy { $0.model_variant == "ml" && $0.model_version.hasPrefix("sha256:") && $0.product_id == "BTC-USD" })
        #expect(ordered.allSatisfy { $0.source.topic == "ticks.features" })

        // The metrics tell the same story once every input is handled.
        var exposition = ""
        let settled = waitUntil(timeoutSeconds: 30) {
            exposition = httpGet("http://\(metricsAddress)/metrics")?.body ?? ""
            return metricValue(exposition, "volatility_consumer_messages_processed_total") == Double(Self.fixtureLineCount)
                && metricValue(exposition, "volatility_consumer_predictions_made_total") == Double(Self.referencePredictionCount)
        }
        #expect(settled, "metrics did not settle: \(exposition.split(separator: "\n").filter { $0.contains("total") && !$0.hasPrefix("#") })")
        let skipped = (metricValue(exposition, #"volatility_consumer_records_skipped_total{reason="no_price"}"#) ?? 0)
            + (metricValue(exposition, #"volatility_consumer_records_skipped_total{reason="warming_up"}"#) ?? 0)
        #expect(skipped == Double(Self.fixtureLineCount - Self.referencePredictionCount))
        #expect(exposition.contains(#"volatility_consumer_model_info{variant="ml""#))
        #expect(httpGet("http://\(metricsAddress)/readyz")?.status == 200)

        let audit = try Self.runAudit(bootstrap: cluster.bootstrap)
        #expect(audit.passed && audit.duplicated.count == 0 && audit.expectedSkips == 6, "\(audit)")

        let started = Date()
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0, "SIGTERM did not end the daemon with 0 within 10 s")
        print("consumerd stopped \(String(format: "%.2f", Date().timeIntervalSince(started))) s after SIGTERM")
    }

    @Test func killedAndRestartedDaemonLosesNothingAndRebuildsItsState() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        let environment = daemonEnvironment(bootstrap: cluster.bootstrap)
        var first: ChildProcess? = try ChildProcess(name: "consumerd-1", arguments: [], environment: environment)
        let firstMetrics = try #require(first?.waitForLine(prefix: "METRICS="))
        // A paced producer, so the kill lands mid-stream.
        let replay = try Self.replayFixture(bootstrap: cluster.bootstrap, extraArguments: ["--rate", "300"])

        let reader = try TopicReader(bootstrapServers: cluster.bootstrap, topic: "ticks.predictions")
        try reader.start()
        var records = reader.read(timeoutSeconds: 90) { $0.count >= 600 }
        #expect(records.count >= 600, "no predictions before the kill: \(first?.stderr ?? "")")
        // The kill must come after a commit, or the restart has nothing to resume from and rebuilds nothing (the
        // backlog that accumulates during the group join is answered well within the first auto-commit interval).
        let committed = waitUntil(timeoutSeconds: 30) {
            let body = httpGet("http://\(firstMetrics)/metrics")?.body ?? ""
            return (metricValue(body, #"volatility_consumer_offset_commits_total{result="ok"}"#) ?? 0) >= 1
        }
        #expect(committed, "no offset commit before the kill: \(first?.stderr ?? "")")
        #expect(first?.stop(signal: SIGKILL) != nil)
        let killedAt = Date().timeIntervalSince1970
        first = nil

        let second = try ChildProcess(name: "consumerd-2", arguments: [], environment: environment)
        let secondMetrics = try #require(second.waitForLine(prefix: "METRICS="))
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "replay failed: \(replay.stderr)")
        let decoder = JSONDecoder()
        var published: [PublishedPrediction] = []
        let covered = waitUntil(timeoutSeconds: 120) {
            records += reader.poll(timeoutMs: 200)
            published = records.compactMap { try? decoder.decode(PublishedPrediction.self, from: Data($0.value)) }
            return Set(published.map(\.source.offset)).count >= Self.referencePredictionCount
        }
        #expect(covered, "outputs never covered the input: \(second.stderr.suffix(3000))")
        let rebuilt = httpGet("http://\(secondMetrics)/metrics").flatMap { metricValue($0.body, "volatility_consumer_state_rebuild_records_total") }
        #expect((rebuilt ?? 0) > 0, "the restarted daemon did not rebuild its windows: \(second.stderr.suffix(2000))")

        // The audit replays the input and checks every output, the restarted daemon's included: its rebuilt
        // windows must give exactly the outputs of an uninterrupted run.
        let audit = try Self.runAudit(bootstrap: cluster.bootstrap)
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0, "\(audit)")
        #expect(audit.expectedPredictions == Self.referencePredictionCount)

        // Duplicates can only be the tail the first daemon had published but not committed: one contiguous run.
        records += reader.poll(timeoutMs: 500)
        published = records.compactMap { try? decoder.decode(PublishedPrediction.self, from: Data($0.value)) }
        var counts: [Int64: Int] = [:]
        for prediction in published { counts[prediction.source.offset, default: 0] += 1 }
        let duplicates = counts.filter { $0.value > 1 }.keys.sorted()
        let beforeKill = Set(published.filter { $0.timestamp < killedAt }.map(\.source.offset))
        let predictedOffsets = Set(published.map(\.source.offset))
        if let low = duplicates.first, let high = duplicates.last {
            #expect(duplicates.allSatisfy { beforeKill.contains($0) }, "a duplicate was not first published by the killed daemon")
            #expect(Set(duplicates) == predictedOffsets.intersection(low...high), "duplicates are not one uncommitted tail")
        }
        print("restart test: inputs \(Self.fixtureLineCount), outputs \(published.count), published before kill \(beforeKill.count), duplicates \(duplicates.count) (offsets \(duplicates.first ?? -1)...\(duplicates.last ?? -1)), audit lost \(audit.lost.count) mismatched \(audit.mismatched.count)")
        #expect(second.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    /// `consumerd audit --json`'s report (the fields the tests read).
    struct AuditSummary: Decodable, CustomStringConvertible {
        struct Kind: Decodable { var count: Int; var first: [String] }
        var inputs: Int
        var expectedPredictions: Int
        var expectedDeadLetters: Int
        var expectedSkips: Int
        var outputs: Int
        var lost: Kind
        var truncated: Kind
        var truncatedUnverifiable: Int
        var duplicated: Kind
        var mismatched: Kind
        var unknownModel: Kind
        var unexpected: Kind
        var shadowOutputs: Int
        var fallbackOutputs: Int
        var truncatedOutputPartitions: [String]
        var models: [String]
        var passed: Bool
        var description: String {
            "inputs \(inputs) outputs \(outputs) lost \(lost.count) \(lost.first) duplicated \(duplicated.count) mismatched \(mismatched.count) \(mismatched.first) unexpected \(unexpected.count) \(unexpected.first)"
        }
    }

    /// Runs `consumerd audit --json` and returns its report.
    static func runAudit(bootstrap: String, environment: [String: String] = [:], arguments: [String] = []) throws -> AuditSummary {
        try runAuditWithStatus(bootstrap: bootstrap, environment: environment, arguments: arguments).report
    }

    /// Runs `consumerd audit --json` and returns its report, exit status and standard error; the exit status must
    /// agree with the report (0 when it passed, 1 otherwise).
    static func runAuditWithStatus(
        bootstrap: String, environment: [String: String] = [:], arguments: [String] = []
    ) throws -> (report: AuditSummary, status: Int32?, stderr: String) {
        let audit = try ChildProcess(name: "audit", arguments: ["audit", "--json", "--bootstrap-servers", bootstrap] + arguments, environment: environment)
        let status = audit.waitForExit(timeoutSeconds: 180)
        let text = audit.stdout.joined(separator: "\n")
        guard let summary = try? JSONDecoder().decode(AuditSummary.self, from: Data(text.utf8)) else {
            throw TestFailure("audit printed no report (status \(String(describing: status))): \(text.prefix(500)) \(audit.stderr.suffix(1500))")
        }
        #expect(status == (summary.passed ? 0 : 1), "audit exit status \(String(describing: status)) disagrees with its report")
        return (summary, status, audit.stderr)
    }

    @Test func badRecordsAreDeadLetteredAndBaselineIsTheRollback() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrap)
        let now = Date().timeIntervalSince1970
        let good = (0..<5).map { index in
            #"{"timestamp": \#(now + Double(index)), "product_id": "ETH-USD", "price": 3000.5, "midprice": 3000.5, "spread_abs": 0.1}"#
        }
        let inputs: [(String, String?)] = [
            (good[0], nil),
            (#"{"type": "heartbeat", "product_id": "ETH-USD"}"#, nil),
            ("{not json", "parse_error"),
            (#"{"timestamp": \#(now), "product_id": "ETH-USD", "price": {"v": 1}}"#, "schema_error"),
            (#"{"timestamp": \#(now), "product_id": "ETH-USD", "price": -5}"#, "invalid_value"),
            (#"{"timestamp": \#(now * 1000), "product_id": "ETH-USD", "price": 5}"#, "invalid_value"),
            (#"{"product_id": "ETH-USD", "price": 5, "pad": ""# + String(repeating: "x", count: 5000) + #""}"#, "oversize"),
            (good[1], nil), (good[2], nil), (good[3], nil), (good[4], nil),
        ]
        for (value, _) in inputs {
            try producer.send(topic: "ticks.features", key: "ETH-USD", value: Array(value.utf8))
        }
        #expect(producer.flush(timeoutMs: 30_000) == 0)

        let daemon = try ChildProcess(
            name: "consumerd", arguments: [],
            environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: ["MODEL_VARIANT": "BASELINE", "MAX_RECORD_BYTES": "2000"])
        )
        let metricsAddress = try #require(daemon.waitForLine(prefix: "METRICS="))
        let expectedErrors = inputs.compactMap(\.1)
        let dlqReader = try TopicReader(bootstrapServers: cluster.bootstrap, topic: "ticks.features.dlq")
        try dlqReader.start()
        let deadLetters = dlqReader.read(timeoutSeconds: 90) { $0.count >= expectedErrors.count } + dlqReader.poll(timeoutMs: 300)
        #expect(deadLetters.map { $0.headers["error_type"] ?? "?" } == expectedErrors)
        for record in deadLetters {
            let offset = try #require(record.headers["source_offset"].flatMap { Int($0) })
            #expect(record.headers["source_topic"] == "ticks.features")
            #expect(record.headers["source_partition"] == "0")
            #expect(record.keyString == "ETH-USD")
            #expect(!(record.headers["error"] ?? "").isEmpty)
            let original = Array(inputs[offset].0.utf8)
            if record.headers["error_type"] == "oversize" {
                #expect(record.headers["original_size"] == String(original.count))
                #expect(record.value == Array(original.prefix(65_536)))
            } else {
                #expect(record.value == original)
            }
        }

        let predictions = try Self.readPredictions(bootstrap: cluster.bootstrap, atLeast: 4, timeoutSeconds: 60)
        #expect(predictions.count == 4)  // 5 good ticks, the first warms the window up
        #expect(predictions.allSatisfy { $0.model_variant == "baseline" && $0.threshold == 2.0 })

        var exposition = ""
        waitUntil(timeoutSeconds: 20) {
            exposition = httpGet("http://\(metricsAddress)/metrics")?.body ?? ""
            return metricValue(exposition, "volatility_consumer_messages_processed_total") == Double(inputs.count)
        }
        for type in ["parse_error", "schema_error", "oversize"] {
            #expect(metricValue(exposition, "volatility_consumer_errors_total{error_type=\"\(type)\"}") == 1, "\(type)")
        }
        #expect(metricValue(exposition, #"volatility_consumer_errors_total{error_type="invalid_value"}"#) == 2)
        #expect(metricValue(exposition, #"volatility_consumer_records_skipped_total{reason="no_price"}"#) == 1)
        #expect(exposition.contains(#"volatility_consumer_model_info{variant="baseline""#))
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    @Test func demoShowsPredictionsAtOnce() throws {
        let started = Date()
        let daemon = try ChildProcess(
            name: "consumerd", arguments: ["demo"], environment: ["METRICS_PORT": "0", "METRICS_HOST": "127.0.0.1", "DEMO_SPEEDUP": "5"]
        )
        let bootstrap = try #require(daemon.waitForLine(prefix: "BOOTSTRAP="), "no BOOTSTRAP line: \(daemon.stderr)")
        let metricsAddress = try #require(daemon.waitForLine(prefix: "METRICS="))
        let reader = try TopicReader(bootstrapServers: bootstrap, topic: "ticks.predictions")
        try reader.start()
        let records = reader.read(timeoutSeconds: 60) { !$0.isEmpty }
        #expect(!records.isEmpty, "no prediction from the demo: \(daemon.stderr)")
        print("demo: first prediction read \(String(format: "%.2f", Date().timeIntervalSince(started))) s after start")
        let ready = httpGet("http://\(metricsAddress)/readyz")
        #expect(ready?.status == 200)
        #expect(ready?.body.contains(#""mode":"demo""#) == true, "\(ready?.body ?? "no answer")")
        #expect(daemon.stderr.contains("consumerd starting (DEMO"), "the banner does not say demo")
        #expect(daemon.stop(signal: SIGINT, timeoutSeconds: 10) == 0)
    }

    @Test(arguments: [
        (["MODEL_VARIANT": "xgb"], "MODEL_VARIANT"),
        (["METRICS_PORT": "eighty"], "METRICS_PORT"),
        (["MAX_RECORD_BYTES": "-1"], "MAX_RECORD_BYTES"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "MODEL_PATH": "/nonexistent/model.json"], "MODEL_PATH"),
        (["LOG_FORMAT": "xml"], "LOG_FORMAT"),
        ([:], "KAFKA_BOOTSTRAP_SERVERS"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_PRODUCER_CONF_ACKS": "1"], "KAFKA_PRODUCER_CONF_ACKS"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_CONF_SASL_PASSWORD_FILE": "/nonexistent/secret"], "KAFKA_CONF_SASL_PASSWORD_FILE"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_CONF_NOT_A_PROPERTY": "1"], "KAFKA_CONF_NOT_A_PROPERTY"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_CONF_SESSION_TIMEOUT_MS": "soon"], "KAFKA_CONF_SESSION_TIMEOUT_MS"),
    ])
    func invalidConfigurationStopsWithExitCode2(environment: [String: String], variable: String) throws {
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: environment.merging(["METRICS_PORT": environment["METRICS_PORT"] ?? "0"]) { a, _ in a })
        #expect(daemon.waitForExit(timeoutSeconds: 30) == 2)
        let errorLines = daemon.stderr.split(separator: "\n").filter { $0.contains("startup error") }
        #expect(errorLines.count == 1, "\(daemon.stderr)")
        #expect(errorLines.first?.contains(variable) == true, "\(daemon.stderr)")
        #expect(!daemon.stderr.contains("Fatal error"))
    }

    @Test func metricsPortInUseIsAStartupError() throws {
        let holder = try ChildProcess(name: "consumerd-holder", arguments: ["demo"], environment: ["METRICS_PORT": "0", "METRICS_HOST": "127.0.0.1"])
        let address = try #require(holder.waitForLine(prefix: "METRICS="))
        let port = try #require(address.split(separator: ":").last.map(String.init))
        let second = try ChildProcess(name: "consumerd", arguments: ["demo"], environment: ["METRICS_PORT": port, "METRICS_HOST": "127.0.0.1"])
        #expect(second.waitForExit(timeoutSeconds: 30) == 2)
        let errorLines = second.stderr.split(separator: "\n").filter { $0.contains("startup error") }
        #expect(errorLines.count == 1 && errorLines.first?.contains("METRICS_PORT") == true && errorLines.first?.contains("in use") == true, "\(second.stderr)")
        holder.stop(signal: SIGKILL)
    }

    @Test func unknownVariantNamesTheValidValues() throws {
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: ["MODEL_VARIANT": "xgb", "METRICS_PORT": "0"])
        #expect(daemon.waitForExit(timeoutSeconds: 30) == 2)
        #expect(daemon.stderr.contains("ml") && daemon.stderr.contains("baseline"), "\(daemon.stderr)")
    }

    @Test func helpListsEveryVariable() throws {
        let help = try ChildProcess(name: "consumerd", arguments: ["--help"])
        #expect(help.waitForExit(timeoutSeconds: 30) == 0)
        let text = help.stdout.joined(separator: "\n")
        for variable in [
            "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "KAFKA_GROUP_INSTANCE_ID", "KAFKA_AUTO_OFFSET_RESET", "INPUT_TOPIC",
            "OUTPUT_TOPIC", "DLQ_TOPIC", "MODEL_VARIANT", "MODEL_PATH", "BASELINE_PATH", "METRICS_PORT", "MAX_RECORD_BYTES",
            "KAFKA_CONF_<NAME>", "LOG_LEVEL", "LOG_FORMAT",
        ] {
            #expect(text.contains(variable), "\(variable) missing from --help")
        }
    }
}

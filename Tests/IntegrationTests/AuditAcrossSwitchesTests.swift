import FeaturePipeline
import Foundation
import StreamConsumer
import Testing

/// `consumerd audit` across model switches, output retention and pipes: the fixture ticks are produced with
/// `consumerd replay`, the daemon's outputs are written by the test itself (the same pipeline and encoder the
/// daemon runs, the model chosen per record), so the switches, losses and deletions are exactly known.
@Suite(.serialized) struct AuditAcrossSwitchesTests {
    static let mlPath = "config/models/xgb-volatility-5feat.json"
    static let baselinePath = "config/models/baseline.json"
    static let registryVersion = "volatility-xgb/3"

    /// A mock cluster holding the fixture ticks spread over `products` product ids, and the inputs read back.
    static func cluster(inputPartitions: Int, outputPartitions: Int, products: Int) throws -> (MockCluster, [ReadRecord]) {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("ticks.features", partitions: inputPartitions)
        try cluster.createTopic("ticks.predictions", partitions: outputPartitions)
        try cluster.createTopic("ticks.features.dlq", partitions: 1)
        let replay = try ChildProcess(
            name: "replay",
            arguments: ["replay", ReferenceData.tickFile.path, "--keep-timestamps", "--products", String(products),
                        "--bootstrap-servers", cluster.bootstrapServers]
        )
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "replay failed: \(replay.stderr)")
        let inputs = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "ticks.features").readToEnd(timeoutSeconds: 60)
        #expect(inputs.count == DaemonIntegrationTests.fixtureLineCount)
        return (cluster, inputs)
    }

    struct Output {
        var key: String
        var value: [UInt8]
        var sourcePartition: Int32
        var sourceOffset: Int64
    }

    /// The daemon's outputs for `inputs` (one pipeline per partition, offset order), each scored by the model
    /// `choose` picks for the input's position in its partition; `fallback` adds a `fallback_reason`.
    static func outputs(
        for inputs: [ReadRecord], ml: LoadedModel, choose: (_ partition: Int32, _ index: Int) -> (model: LoadedModel, fallback: Bool)
    ) -> [Output] {
        var pipelines: [Int32: RecordPipeline] = [:]
        var positions: [Int32: Int] = [:]
        var outputs: [Output] = []
        let now = Date().timeIntervalSince1970
        for input in inputs.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            let outcome = input.value.withUnsafeBytes { value in
                pipelines[input.partition, default: RecordPipeline(model: ml)].process(
                    value: value, key: nil, kafkaTimestamp: input.timestampMs >= 0 ? Double(input.timestampMs) / 1000 : nil,
                    now: now, timings: nil
                )
            }
            guard case .prediction(var prediction) = outcome else { continue }
            let index = positions[input.partition, default: 0]
            positions[input.partition] = index + 1
            let (model, fallback) = choose(input.partition, index)
            prediction.score = model.predict(prediction.features)
            var bytes: [UInt8] = []
            PredictionEncoder(modelVariant: model.variant, modelVersion: model.version, threshold: model.threshold).encode(
                prediction, processingTime: now,
                source: RecordSource(topic: "ticks.features", partition: input.partition, offset: input.offset), into: &bytes
            )
            if fallback { bytes = inserting(#","fallback_reason":"model file unreadable""#, into: bytes) }
            outputs.append(Output(key: prediction.productId, value: bytes, sourcePartition: input.partition, sourceOffset: input.offset))
        }
        return outputs
    }

    /// `fragment` inserted before the object's closing brace.
    static func inserting(_ fragment: String, into object: [UInt8]) -> [UInt8] {
        Array(object.dropLast()) + Array(fragment.utf8) + [UInt8(ascii: "}")]
    }

    static func produce(_ outputs: [Output], to cluster: MockCluster) throws {
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for output in outputs {
            try producer.send(topic: "ticks.predictions", key: output.key, value: output.value)
        }
        #expect(producer.flush(timeoutMs: 60_000) == 0)
        #expect(producer.failedCount == 0)
    }

    static func audit(
        _ cluster: MockCluster, arguments: [String]
    ) throws -> (report: DaemonIntegrationTests.AuditSummary, status: Int32?, stderr: String) {
        try DaemonIntegrationTests.runAuditWithStatus(bootstrap: cluster.bootstrapServers, arguments: arguments)
    }

    static func models() throws -> (ml: LoadedModel, registryML: LoadedModel, baseline: LoadedModel) {
        let root = TestPaths.repositoryRoot.path + "/"
        let ml = try LoadedModel.load(variant: .ml, modelPath: root + mlPath, baselinePath: root + baselinePath)
        let baseline = try LoadedModel.load(variant: .baseline, modelPath: root + mlPath, baselinePath: root + baselinePath)
        let xgboost = try XGBoostModel(jsonData: Data(contentsOf: URL(fileURLWithPath: root + mlPath)))
        let registryML = LoadedModel(variant: .ml, xgboost: xgboost, baseline: nil, version: registryVersion, path: root + mlPath)
        return (ml, registryML, baseline)
    }

    /// ml → baseline → ml (a registry version) switches every 150 predictions in every partition, some
    /// baseline outputs marked as fallbacks, shadow outputs on the output topic, repeats scored by the other
    /// model: each output is checked against
    /// the model it names — 0 lost, 0 mismatched; without the registry version given, those outputs are
    /// "unknown model"; a wrong probability for the named model is a mismatch.
    @Test func outputsOfSeveralModelsAreEachCheckedAgainstTheModelTheyName() throws {
        let (cluster, inputs) = try Self.cluster(inputPartitions: 3, outputPartitions: 3, products: 6)
        let (ml, registryML, baseline) = try Self.models()
        var outputs = Self.outputs(for: inputs, ml: ml) { _, index in
            switch index / 150 % 3 {
            case 0: (ml, false)
            case 1: (baseline, index % 7 == 0)
            default: (registryML, false)
            }
        }
        let versions = Set(outputs.map { String(decoding: $0.value, as: UTF8.self) }.compactMap { text in
            ["\"model_version\":\"\(ml.version)\"", "\"model_version\":\"\(baseline.version)\"", "\"model_version\":\"\(Self.registryVersion)\""]
                .firstIndex { text.contains($0) }
        })
        #expect(versions == [0, 1, 2], "the fixture must yield outputs of all three models")
        let fallbacks = outputs.filter { String(decoding: $0.value, as: UTF8.self).contains("fallback_reason") }.count
        // Shadow outputs (another model's score) on the output topic are not the daemon's answer: ignored.
        let shadows = outputs.prefix(40).map { output in
            var shadow = output
            shadow.value = Self.inserting(#","shadow":true"#, into: Array(String(decoding: output.value, as: UTF8.self)
                .replacingOccurrences(of: "\"probability\":", with: "\"probability\":0.123456,\"was\":").utf8))
            return shadow
        }
        // An at-least-once repeat across a switch (a restart with the other model re-scores the uncommitted
        // tail): both copies are checked, each against its own model.
        let repeats = Self.outputs(for: inputs, ml: ml) { _, index in index / 150 % 3 == 1 ? (ml, false) : (baseline, false) }.prefix(30)
        try Self.produce(outputs + shadows + repeats, to: cluster)

        let all = try Self.audit(cluster, arguments: [
            "--model", Self.mlPath, "--model", "\(Self.registryVersion)=\(Self.mlPath)", "--baseline", Self.baselinePath,
        ])
        print("audit across switches: \(all.report.outputs) outputs, \(all.report.fallbackOutputs) fallbacks, \(all.report.shadowOutputs) shadows, models \(all.report.models)")
        #expect(all.report.passed && all.status == 0)
        #expect(all.report.lost.count == 0 && all.report.mismatched.count == 0 && all.report.unknownModel.count == 0, "\(all.report.mismatched.first)")
        #expect(all.report.duplicated.count == repeats.count, "shadow outputs were counted as copies")
        #expect(all.report.outputs == outputs.count + repeats.count && all.report.expectedPredictions == outputs.count)
        #expect(all.report.shadowOutputs == shadows.count)
        #expect(all.report.fallbackOutputs == fallbacks && fallbacks > 0)
        #expect(all.report.models.count == 3)

        // Without the registry version, its outputs name a model the audit does not know.
        let registryOutputs = outputs.filter { String(decoding: $0.value, as: UTF8.self).contains(Self.registryVersion) }.count
        let withoutRegistry = try Self.audit(cluster, arguments: ["--model", Self.mlPath, "--baseline", Self.baselinePath])
        #expect(!withoutRegistry.report.passed && withoutRegistry.status == 1)
        #expect(withoutRegistry.report.unknownModel.count == registryOutputs)
        #expect(withoutRegistry.report.mismatched.count == 0 && withoutRegistry.report.lost.count == 0)

        // A wrong probability for the named model: one more output, a repeat of an ml output with a changed
        // score, is a mismatch (and a duplicate).
        guard let victim = outputs.dropFirst(repeats.count).first(where: { String(decoding: $0.value, as: UTF8.self).contains("\"model_version\":\"\(ml.version)\"") }) else {
            throw TestFailure("no ml output")
        }
        var wrong = victim
        wrong.value = Array(String(decoding: victim.value, as: UTF8.self)
            .replacingOccurrences(of: "\"probability\":", with: "\"probability\":0.999,\"was\":").utf8)
        outputs = [wrong]
        try Self.produce(outputs, to: cluster)
        let withWrong = try Self.audit(cluster, arguments: [
            "--model", Self.mlPath, "--model", "\(Self.registryVersion)=\(Self.mlPath)", "--baseline", Self.baselinePath,
        ])
        #expect(!withWrong.report.passed)
        #expect(withWrong.report.mismatched.count == 1 && withWrong.report.mismatched.first == ["\(victim.sourcePartition):\(victim.sourceOffset)"])
        #expect(withWrong.report.duplicated.count == repeats.count + 1 && withWrong.report.lost.count == 0)
    }

    /// Outputs padded so the mock's ~5 MiB retention deletes the oldest of each output partition: the inputs
    /// whose outputs were there are truncated, not lost, and the audit passes; an output missing above the low
    /// watermark is lost.
    @Test(arguments: [false, true])
    func outputsDeletedByRetentionAreTruncatedNotLost(dropOneAboveTheLowWatermark: Bool) throws {
        let (cluster, inputs) = try Self.cluster(inputPartitions: 1, outputPartitions: 2, products: 4)
        let (ml, _, _) = try Self.models()
        let padding = ",\"padding\":\"" + String(repeating: "x", count: 8 * 1024) + "\""
        var outputs = Self.outputs(for: inputs, ml: ml) { _, _ in (ml, false) }.map { output in
            var padded = output
            padded.value = Self.inserting(padding, into: output.value)
            return padded
        }
        // The last output of all is above any low watermark (retention deletes the oldest).
        let dropped = dropOneAboveTheLowWatermark ? outputs.removeLast() : nil
        try Self.produce(outputs, to: cluster)
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "ticks.predictions")
        let lows = try (0..<2).map { try reader.watermarks(partition: Int32($0), timeoutMs: 10_000).low }
        let deleted = lows.reduce(0, +)
        #expect(deleted > 0, "the mock's retention deleted nothing: the test proves nothing")

        let result = try Self.audit(cluster, arguments: ["--model", Self.mlPath])
        print("retention: \(outputs.count) outputs written, \(deleted) deleted by retention; audit truncated \(result.report.truncated.count) (unverifiable \(result.report.truncatedUnverifiable)), lost \(result.report.lost.count), partitions \(result.report.truncatedOutputPartitions)")
        // One producer, no retries: the deleted records are exactly the first `deleted` outputs written per
        // partition, each the only copy of its input's output.
        #expect(result.report.truncated.count == Int(deleted))
        #expect(result.report.truncatedUnverifiable == 0)
        #expect(result.report.mismatched.count == 0 && result.report.duplicated.count == 0)
        #expect(result.report.truncatedOutputPartitions.count == lows.filter { $0 > 0 }.count)
        if let dropped {
            #expect(result.report.lost.count == 1 && result.report.lost.first == ["\(dropped.sourcePartition):\(dropped.sourceOffset)"])
            #expect(!result.report.passed && result.status == 1)
        } else {
            #expect(result.report.lost.count == 0)
            #expect(result.report.passed && result.status == 0)
        }
    }

    /// The same for dead letters (keyed by the input's key, value = the input): 100 kB records that are not JSON,
    /// dead-lettered as the daemon does, overflow the mock's retention of the dead-letter partitions.
    @Test(arguments: [false, true])
    func deadLettersDeletedByRetentionAreTruncatedNotLost(dropOneAboveTheLowWatermark: Bool) throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("ticks.features", partitions: 8)
        try cluster.createTopic("ticks.predictions", partitions: 1)
        try cluster.createTopic("ticks.features.dlq", partitions: 2)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for index in 0..<130 {
            let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000)
            try value.withUnsafeBytes { try producer.send(topic: "ticks.features", key: Array("bad-\(index % 16)".utf8), value: $0) }
        }
        #expect(producer.flush(timeoutMs: 60_000) == 0)
        let inputs = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "ticks.features").readToEnd(timeoutSeconds: 60)
        #expect(inputs.count == 130, "the input topic must keep every record")
        let (ml, _, _) = try Self.models()
        var pipelines: [Int32: RecordPipeline] = [:]
        var deadLetters: [(input: ReadRecord, type: String)] = []
        for input in inputs.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            let outcome = input.value.withUnsafeBytes { value in
                pipelines[input.partition, default: RecordPipeline(model: ml)].process(
                    value: value, key: nil, kafkaTimestamp: nil, now: Date().timeIntervalSince1970, timings: nil
                )
            }
            guard case .deadLetter(let error) = outcome else { throw TestFailure("expected a dead letter, got \(outcome)") }
            deadLetters.append((input, error.type.rawValue))
        }
        // Written in input order per input partition, as a daemon would; the last one is above any low watermark.
        let dropped = dropOneAboveTheLowWatermark ? deadLetters.removeLast() : nil
        for (input, type) in deadLetters {
            try input.value.withUnsafeBytes { value in
                try producer.send(topic: "ticks.features.dlq", key: input.key, value: value, headers: [
                    ("error_type", Array(type.utf8)), ("error", Array("not JSON".utf8)), ("source_topic", Array("ticks.features".utf8)),
                    ("source_partition", Array(String(input.partition).utf8)), ("source_offset", Array(String(input.offset).utf8)),
                ])
            }
        }
        #expect(producer.flush(timeoutMs: 60_000) == 0)
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "ticks.features.dlq")
        let lows = try (0..<2).map { try reader.watermarks(partition: Int32($0), timeoutMs: 10_000).low }
        let deleted = lows.reduce(0, +)
        #expect(deleted > 0, "the mock's retention deleted no dead letters: the test proves nothing")
        // Which deleted ones the audit cannot verify: those of an input partition with nothing left in their
        // dead-letter partition (written input partition by input partition, the early ones went entirely).
        let survivors = Set(try reader.readToEnd(timeoutSeconds: 60).compactMap { record in
            record.headers["source_partition"].map { "\(record.partition)/\($0)" }
        })
        var written: [Int32: Int64] = [:]
        var unverifiable = 0
        for (input, _) in deadLetters {
            let q = try #require(input.key.flatMap { key in key.withUnsafeBytes { KeyPartitioner.consistentRandom.partition(forKey: $0, partitionCount: 2) } })
            let position = written[q, default: 0]
            written[q] = position + 1
            if position < lows[Int(q)], !survivors.contains("\(q)/\(input.partition)") { unverifiable += 1 }
        }

        let result = try Self.audit(cluster, arguments: ["--model", Self.mlPath])
        print("dead-letter retention: \(deadLetters.count) written, \(deleted) deleted (\(unverifiable) of input partitions with nothing left); audit truncated \(result.report.truncated.count) (unverifiable \(result.report.truncatedUnverifiable)), lost \(result.report.lost.count)")
        #expect(result.report.truncated.count == Int(deleted))
        #expect(result.report.truncatedUnverifiable == unverifiable && unverifiable < Int(deleted))
        #expect(result.report.mismatched.count == 0 && result.report.duplicated.count == 0)
        if let dropped {
            #expect(result.report.lost.first == ["\(dropped.input.partition):\(dropped.input.offset)"] && result.report.lost.count == 1)
            #expect(!result.report.passed)
        } else {
            #expect(result.report.lost.count == 0 && result.report.passed)
        }
    }

    /// A model that cannot be loaded, or one version naming two files, stops the audit with exit 2 and one line
    /// naming the argument.
    @Test func unloadableOrAmbiguousModelsAreStartupErrors() throws {
        let missing = try ChildProcess(name: "audit", arguments: ["audit", "--bootstrap-servers", "127.0.0.1:1", "--model", "v1=/nonexistent/model.json"])
        #expect(missing.waitForExit(timeoutSeconds: 60) == 2)
        #expect(missing.stderr.contains("--model v1=/nonexistent/model.json: cannot read model file"), "\(missing.stderr)")

        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("audit-model-copy-\(getpid()).json")
        try FileManager.default.copyItem(at: TestPaths.repositoryRoot.appendingPathComponent(Self.mlPath), to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let ambiguous = try ChildProcess(
            name: "audit", arguments: ["audit", "--bootstrap-servers", "127.0.0.1:1", "--model", "v1=\(Self.mlPath)", "--model", "v1=\(copy.path)"]
        )
        #expect(ambiguous.waitForExit(timeoutSeconds: 60) == 2)
        #expect(ambiguous.stderr.contains("ml version v1 names different files"), "\(ambiguous.stderr)")
        #expect(ambiguous.stderr.split(separator: "\n").count == 1, "\(ambiguous.stderr)")
    }

    /// Piped (not a terminal), `replay` and `audit` print one summary line each on standard error and no
    /// in-place refreshes.
    @Test func pipedReplayAndAuditPrintOneSummaryLine() throws {
        let cluster = try MockCluster(brokers: 1)
        for topic in ["ticks.features", "ticks.predictions", "ticks.features.dlq"] { try cluster.createTopic(topic, partitions: 2) }
        let replay = try ChildProcess(
            name: "replay",
            arguments: ["replay", ReferenceData.tickFile.path, "--keep-timestamps", "--bootstrap-servers", cluster.bootstrapServers]
        )
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0)
        let replayLines = replay.stderr.split(separator: "\n")
        #expect(replayLines.filter { $0.hasPrefix("replay: ") }.count == 1, "\(replay.stderr)")
        #expect(replayLines.contains { $0.hasPrefix("replay: sent \(DaemonIntegrationTests.fixtureLineCount), delivered \(DaemonIntegrationTests.fixtureLineCount), failed 0") }, "\(replay.stderr)")
        #expect(!replay.stderr.contains("\r") && !replay.stderr.contains("\u{1B}["))

        let audit = try ChildProcess(name: "audit", arguments: ["audit", "--bootstrap-servers", cluster.bootstrapServers])
        let status = audit.waitForExit(timeoutSeconds: 120)
        #expect(status == 1, "nothing was processed: every expected prediction is lost")
        let auditLines = audit.stderr.split(separator: "\n")
        #expect(auditLines.filter { $0.hasPrefix("audit: ") }.count == 1, "\(audit.stderr)")
        #expect(auditLines.contains { $0.hasPrefix("audit: \(DaemonIntegrationTests.fixtureLineCount) inputs, 0 outputs, 0 dead letters in ") && $0.hasSuffix("FAILED") }, "\(audit.stderr)")
        #expect(!audit.stderr.contains("\r") && !audit.stderr.contains("\u{1B}["))
    }

    /// Runs `consumerd ARGUMENTS` on a terminal (`script` gives it one); returns exit status and everything it
    /// wrote.
    static func onTerminal(_ arguments: [String]) throws -> (status: Int32, text: String) {
        let command = ([TestPaths.consumerd.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qefc", command, "/dev/null"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        // As ChildProcess does: the test's own Kafka and model settings must not leak into the command.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KAFKA_") && !$0.key.hasPrefix("MODEL_") }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// On a terminal `replay` and `audit` redraw one line in place with the count, the rate and an ETA, and end
    /// with the summary line.
    @Test func replayAndAuditOnATerminalShowLiveProgress() throws {
        let cluster = try MockCluster(brokers: 1)
        for topic in ["ticks.features", "ticks.predictions", "ticks.features.dlq"] { try cluster.createTopic(topic, partitions: 1) }
        let (status, text) = try Self.onTerminal(
            ["replay", ReferenceData.tickFile.path, "--rate", "2000", "--bootstrap-servers", cluster.bootstrapServers]
        )
        #expect(status == 0, "\(text)")
        // The first redraw happens at record 256 (nothing was drawn before), long before 2,827 records at 2,000/s.
        #expect(text.contains("\r\u{1B}[Kreplay: sending to ticks.features 256/2,827 records"), "\(text.debugDescription)")
        #expect(text.contains("ETA "))
        #expect(text.contains("replay: sent \(DaemonIntegrationTests.fixtureLineCount), delivered \(DaemonIntegrationTests.fixtureLineCount)"))

        // Nothing was processed, so the audit fails; its live line shows the replay phase from record 256 on.
        let audit = try Self.onTerminal(["audit", "--bootstrap-servers", cluster.bootstrapServers])
        #expect(audit.status == 1, "\(audit.text)")
        #expect(audit.text.contains("\r\u{1B}[Kaudit: replaying inputs 256/2,827 records"), "\(audit.text.debugDescription)")
        #expect(audit.text.contains("\r\u{1B}[Kaudit: 2827 inputs, 0 outputs, 0 dead letters in "), "\(audit.text.debugDescription)")
    }
}

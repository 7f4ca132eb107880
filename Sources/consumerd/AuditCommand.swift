import ArgumentParser
import FeaturePipeline
import Foundation
import StreamConsumer

/// `consumerd audit`: proves (or disproves) that nothing was lost, by replaying the input topic.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Compare the output and dead-letter topics with an exact replay of the input topic.",
        discussion: """
            Reads INPUT_TOPIC, OUTPUT_TOPIC and DLQ_TOPIC (KAFKA_BOOTSTRAP_SERVERS or --bootstrap-servers), replays \
            every input through the same pipeline (MAX_RECORD_BYTES, STATE_MAX_KEYS, STATE_IDLE_SECONDS as the \
            daemon reads them) and checks each output against the model its model_variant/model_version names: \
            the models given with --model/--baseline (repeatable; VERSION=PATH names a registry version such as \
            volatility-xgb/3=model.json), else the one MODEL_VARIANT/MODEL_PATH/BASELINE_PATH select. Reports, per \
            input offset, lost, truncated (deleted by the output topic's retention, not lost), duplicated, \
            mismatched, unknown model, dead-lettered and skipped. Shadow outputs ("shadow": true) on the output \
            topic are ignored. Memory does not grow with the topics (a scratch file in TMPDIR, ~136 bytes per input \
            offset, holds the outputs). Exit status 0 only when nothing is lost or mismatched and every output names \
            a given model.
            """
    )

    @Option(help: "Broker list (default: KAFKA_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?

    @Option(name: .customLong("model"), help: ArgumentHelp("An XGBoost model outputs may name, as PATH or VERSION=PATH (repeatable).", valueName: "[VERSION=]PATH"))
    var models: [String] = []

    @Option(name: .customLong("baseline"), help: ArgumentHelp("Baseline parameters outputs may name, as PATH or VERSION=PATH (repeatable).", valueName: "[VERSION=]PATH"))
    var baselines: [String] = []

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Seconds without a record arriving after which reading a topic gives up (the audit then fails).")
    var timeout: Double = 120

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: DaemonConfiguration
        let catalog: AuditModels
        do {
            configuration = try DaemonConfiguration.fromEnvironment(environment)
            let specs = models.map { AuditModels.Spec(variant: .ml, argument: $0) } + baselines.map { AuditModels.Spec(variant: .baseline, argument: $0) }
            if specs.isEmpty {
                catalog = try AuditModels(models: [
                    LoadedModel.load(variant: configuration.modelVariant, modelPath: configuration.modelPath, baselinePath: configuration.baselinePath)
                ])
            } else {
                catalog = try AuditModels.load(specs)
            }
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        guard let servers = bootstrapServers ?? configuration.kafka.bootstrapServers else {
            throw exitForStartupFailure("KAFKA_BOOTSTRAP_SERVERS: set it or pass --bootstrap-servers")
        }
        // A smaller prefetch than librdkafka's defaults (64 MiB queue, 50 MiB fetches): the audit reads every
        // partition at once and these buffers are most of its memory. KAFKA_*CONF_* still override them.
        let readerDefaults = [
            KafkaProperty(name: "queued.max.messages.kbytes", value: "16384", source: "consumerd audit"),
            KafkaProperty(name: "fetch.max.bytes", value: "8388608", source: "consumerd audit"),
        ]
        let properties = readerDefaults + configuration.kafka.commonProperties + configuration.kafka.consumerProperties
        let producerProperties = configuration.kafka.commonProperties + configuration.kafka.producerProperties
        guard let partitioner = KeyPartitioner(properties: producerProperties) else {
            throw exitForStartupFailure("KAFKA_PRODUCER_CONF_PARTITIONER: not a librdkafka partitioner (\(KeyPartitioner.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let topics = configuration.topics
        let auditor = Auditor(
            models: catalog, maxRecordBytes: configuration.maxRecordBytes,
            maxKeys: configuration.stateMaxKeys, idleSeconds: configuration.stateIdleSeconds,
            partitioner: partitioner, timeoutSeconds: timeout
        )
        let progress = ProgressMeter(label: "audit", total: nil)
        let report: AuditReport
        do {
            report = try auditor.audit(
                Auditor.Topics(
                    input: TopicReader(bootstrapServers: servers, topic: topics.input, properties: properties),
                    output: TopicReader(bootstrapServers: servers, topic: topics.output, properties: properties),
                    deadLetter: TopicReader(bootstrapServers: servers, topic: topics.deadLetter, properties: properties)
                ),
                progress: progress
            )
        } catch {
            progress.finish("failed after \(String(format: "%.1f", progress.elapsedSeconds)) s: \(error)")
            throw ExitCode(1)
        }
        let seconds = progress.elapsedSeconds
        progress.finish(
            "\(report.inputs) inputs, \(report.outputs) outputs, \(report.deadLetterRecords) dead letters in \(String(format: "%.1f", seconds)) s "
                + "(\(ProgressMeter.grouped(Int64(Double(progress.done) / max(seconds, 1e-9)))) records/s): lost \(report.lost.count), "
                + "truncated \(report.truncated.count), mismatched \(report.mismatched.count), \(report.ok ? "OK" : "FAILED")"
        )
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var data = try encoder.encode(report)
            data.append(0x0A)
            FileHandle.standardOutput.write(data)
        } else {
            printLine(report.text())
        }
        if !report.ok { throw ExitCode(1) }
    }
}

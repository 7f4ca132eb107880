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
            Reads INPUT_TOPIC, OUTPUT_TOPIC and DLQ_TOPIC from the beginning (KAFKA_BOOTSTRAP_SERVERS or \
            --bootstrap-servers), replays every input through the same pipeline and model (MODEL_VARIANT, \
            MODEL_PATH, BASELINE_PATH, MAX_RECORD_BYTES as the daemon reads them) and reports, per input offset, \
            lost, duplicated, mismatched, dead-lettered and skipped. Exit status 0 only when nothing is lost or \
            mismatched.
            """
    )

    @Option(help: "Broker list (default: KAFKA_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Seconds allowed for reading the topics.")
    var timeout: Double = 120

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: DaemonConfiguration
        let model: LoadedModel
        do {
            configuration = try DaemonConfiguration.fromEnvironment(environment)
            model = try LoadedModel.load(
                variant: configuration.modelVariant, modelPath: configuration.modelPath, baselinePath: configuration.baselinePath
            )
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        guard let servers = bootstrapServers ?? configuration.kafka.bootstrapServers else {
            throw exitForStartupFailure("KAFKA_BOOTSTRAP_SERVERS: set it or pass --bootstrap-servers")
        }
        let properties = configuration.kafka.commonProperties + configuration.kafka.consumerProperties
        let topics = configuration.topics
        let inputs = try TopicReader(bootstrapServers: servers, topic: topics.input, properties: properties).readToEnd(timeoutSeconds: timeout)
        let outputs = try TopicReader(bootstrapServers: servers, topic: topics.output, properties: properties).readToEnd(timeoutSeconds: timeout)
        let deadLetters = try TopicReader(bootstrapServers: servers, topic: topics.deadLetter, properties: properties).readToEnd(timeoutSeconds: timeout)
        let report = Auditor(
            model: model, maxRecordBytes: configuration.maxRecordBytes,
            maxKeys: configuration.stateMaxKeys, idleSeconds: configuration.stateIdleSeconds)
            .audit(inputs: inputs, outputs: outputs, deadLetters: deadLetters, inputTopic: topics.input)
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

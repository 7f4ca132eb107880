import ArgumentParser
import FeaturePipeline
import Foundation
import StreamConsumer

/// `consumerd check`: the configuration, then the brokers, the topics and the model, as `consumerd run` would
/// meet them. Exit 0 when all is well, 1 with one line per problem, 2 for an invalid configuration.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the configuration, the brokers, the topics and the model without processing anything.",
        discussion: """
            Exit codes: 0 all good; 1 a problem (one line each: brokers unreachable, a topic missing, the model not \
            loading); 2 invalid configuration (one line naming the variable, as `consumerd run`).
            """
    )

    @Option(help: "Seconds to wait for the brokers' answer.")
    var timeout: Double = 10

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.fromEnvironment(environment)
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        guard let bootstrap = configuration.kafka.bootstrapServers else {
            throw exitForStartupFailure("KAFKA_BOOTSTRAP_SERVERS: \(Daemon.missingBootstrap)")
        }
        let consumerProperties = ClientProperties.consumer(
            configuration.kafka, bootstrapServers: bootstrap, guarantee: configuration.guarantee)
        do {
            try ClusterProbe.validateProducerProperties(ClientProperties.producer(
                configuration.kafka, bootstrapServers: bootstrap, guarantee: configuration.guarantee))
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        printLine("ok   configuration (\(Banner.guaranteeName(configuration.guarantee)), group \(configuration.kafka.groupId))")

        var problems: [String] = []
        // The daemon's own loader: MODEL_CONFIG_FILE, fallback and shadow are checked as `run` would meet them.
        do {
            let spec = try ModelSpec.effective(environment: configuration.modelSpec, configFile: configuration.model.configFile)
            let models = try await ModelLoader(fallbackToBaseline: configuration.model.fallbackToBaseline, registry: nil).load(spec)
            let model = models.set.active
            printLine("ok   model \(model.variant.rawValue) \(model.version) (\(model.path), \(models.activeSource.rawValue))")
            if let shadow = models.set.shadow { printLine("ok   shadow model \(shadow.variant.rawValue) \(shadow.version)") }
            for note in models.notes { printLine("note \(note)") }
        } catch let error as ModelSpecError {
            problems.append("MODEL_CONFIG_FILE: \(error)")
        } catch {
            problems.append("the model does not load: \(error)")
        }

        let topics: [String: Int]?
        do {
            topics = try ClusterProbe.topics(consumerProperties: consumerProperties, timeoutMs: Int32(max(1, min(timeout, 600)) * 1000))
            printLine("ok   brokers \(Banner.redactedBootstrap(bootstrap)) answered (\(topics?.count ?? 0) topics)")
        } catch let error as ConfigurationError {
            throw exitForStartupFailure("\(error)")
        } catch {
            topics = nil
            problems.append("KAFKA_BOOTSTRAP_SERVERS: the brokers \(Banner.redactedBootstrap(bootstrap)) did not answer within \(timeout) s: \(error)")
        }
        if let topics {
            let wanted = [
                ("INPUT_TOPIC", configuration.topics.input, "input"),
                ("OUTPUT_TOPIC", configuration.topics.output, "output"),
                ("DLQ_TOPIC", configuration.topics.deadLetter, "dead-letter"),
            ]
            for (variable, topic, role) in wanted {
                if let partitions = topics[topic] {
                    printLine("ok   \(role) topic \(topic): \(partitions) partition\(partitions == 1 ? "" : "s")")
                } else if role == "input" {
                    problems.append("\(variable): the input topic '\(topic)' does not exist")
                } else {
                    problems.append(
                        "\(variable): the \(role) topic '\(topic)' does not exist; consumerd does not create topics "
                            + "(brokers with auto.create.topics.enable=true would create it on the first write)")
                }
            }
        }
        for problem in problems { printLine("FAIL \(problem)") }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}

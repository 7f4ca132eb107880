import ConsumerMetrics
import FeaturePipeline
import Logging
import StreamConsumer

/// The start-up banner (one log line naming what runs against what) and the matching `/status` section.
enum Banner {
    static func log(
        _ configuration: DaemonConfiguration, mode: DaemonMode, model: LoadedModel, modelSource: String,
        bootstrapServers: String, logger: Logger
    ) {
        let topics = configuration.topics
        let overrides = (configuration.kafka.commonProperties + configuration.kafka.consumerProperties
            + configuration.kafka.producerProperties).map { Logger.Metadata.Value.string("\($0.name)=\($0.displayValue)") }
        logger.notice(mode == .demo ? "consumerd starting (DEMO: embedded mock cluster and bundled ticks)" : "consumerd starting", metadata: [
            "version": .string(BuildInfo.version),
            "revision": .string(BuildInfo.revision),
            "librdkafka": .string(BuildInfo.librdkafka),
            "mode": .string(mode.rawValue),
            "variant": .string(model.variant.rawValue),
            "model_version": .string(model.version),
            "model_source": .string(modelSource),
            "topics": .dictionary([
                "input": .string(topics.input), "output": .string(topics.output), "dead_letter": .string(topics.deadLetter),
            ]),
            "group_id": .string(configuration.kafka.groupId),
            "group_instance_id": configuration.kafka.groupInstanceId.map { .string($0) } ?? .string("-"),
            "bootstrap": .string(redactedBootstrap(bootstrapServers)),
            "auto_offset_reset": .string(configuration.kafka.autoOffsetReset),
            "processing_guarantee": .string(guaranteeName(configuration.guarantee)),
            "max_record_bytes": .stringConvertible(configuration.maxRecordBytes),
            "state_max_keys": .stringConvertible(configuration.stateMaxKeys),
            "state_idle_seconds": .stringConvertible(configuration.stateIdleSeconds),
            "processing_threads": .stringConvertible(configuration.processingThreads),
            "kafka_overrides": .array(overrides),
        ])
    }

    static func statusSection(_ configuration: DaemonConfiguration, mode: DaemonMode, bootstrapServers: String) -> StatusValue {
        .object([
            ("mode", .string(mode.rawValue)),
            ("input_topic", .string(configuration.topics.input)),
            ("output_topic", .string(configuration.topics.output)),
            ("dead_letter_topic", .string(configuration.topics.deadLetter)),
            ("group_id", .string(configuration.kafka.groupId)),
            ("bootstrap", .string(redactedBootstrap(bootstrapServers))),
            ("processing_guarantee", .string(guaranteeName(configuration.guarantee))),
        ])
    }

    static func guaranteeName(_ guarantee: ProcessingGuarantee) -> String {
        if case .exactlyOnce = guarantee { return "exactly_once" }
        return "at_least_once"
    }

    /// Broker list as it may be shown: credentials written into an entry (`SASL_SSL://user:pass@host:9093`)
    /// become `[REDACTED]`; hosts and ports stay.
    static func redactedBootstrap(_ servers: String) -> String {
        servers.split(separator: ",", omittingEmptySubsequences: false).map { entry -> String in
            guard let at = entry.lastIndex(of: "@") else { return String(entry) }
            let scheme = entry.range(of: "://").map { String(entry[..<$0.upperBound]) } ?? ""
            return scheme + "[REDACTED]" + entry[at...]
        }.joined(separator: ",")
    }
}

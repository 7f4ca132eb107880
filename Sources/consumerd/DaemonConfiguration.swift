import FeaturePipeline
import ModelRegistry
import Foundation
import StreamConsumer

/// Everything the daemon reads from its environment, validated at start-up.
///
/// A bad value stops the daemon before it touches Kafka, with one line naming the variable (exit code 2).
struct DaemonConfiguration: Sendable {
    var kafka: KafkaSettings
    var topics: StreamTopics
    var modelVariant: ModelVariant
    var modelPath: String
    var baselinePath: String
    var metricsHost: String
    var metricsPort: Int
    var maxRecordBytes: Int
    var livenessWindowSeconds: Double
    var demoSpeedup: Double
    var demoTicksPath: String
    var maxInflight: Int
    var stateRebuildMaxRecords: Int
    /// `FETCH_STALL_SECONDS` (``StreamProcessorOptions/fetchStallSeconds``).
    var fetchStallSeconds: Double
    var stateMaxKeys: Int
    var stateIdleSeconds: Double
    /// `PROCESSING_THREADS`: 2 runs the handler on a thread of its own (``StreamProcessorOptions/handlerThread``).
    var processingThreads: Int
    var guarantee: ProcessingGuarantee
    var stallInjection: StallInjection?
    /// `CONSUMERD_FAULT_PAUSE_PARTITION` (test-only).
    var fetchFault: FetchFault?
    /// The reloadable model spec as the environment gives it (``ModelSpec``; `MODEL_CONFIG_FILE` is applied over it).
    var modelSpec: ModelSpec
    /// Model settings fixed at start-up: the configuration file, fallback, shadow topic, admin listener.
    var model: ModelSettings
    /// Overrides that break the delivery guarantee, accepted because `UNSAFE_ALLOW_OVERRIDES=1` (logged at start).
    var unsafeOverrides: [KafkaOverrideGuard.Violation] = []

    // Found in the working directory, else in the installed package's /usr/share/consumerd (DataPaths).
    static let defaultModelPath = DataPaths().resolve(explicit: nil, defaultRelativePath: "config/models/xgb-volatility-5feat.json")
    static let defaultBaselinePath = DataPaths().resolve(explicit: nil, defaultRelativePath: "config/models/baseline.json")
    /// Realised-label scoring and drift (issue 13).
    var quality: QualityConfiguration
    /// The MLflow registry behind `MODEL_URI` (`MLFLOW_TRACKING_URI`, credentials, `MODEL_CACHE_DIR`).
    var registry: RegistrySettings

    /// The variables `consumerd --help`, `consumerd help run` and `consumerd config` document, in that order.
    static let documentedVariables: [DocumentedVariable] = [
        .init("KAFKA_BOOTSTRAP_SERVERS", "required by run", "broker list host:port,…; `consumerd demo` runs without brokers"),
        .init("KAFKA_GROUP_ID", "volatility-consumer", "consumer group"),
        .init("KAFKA_GROUP_INSTANCE_ID", "unset", "static membership (KIP-345): a restarted instance keeps its partitions"),
        .init("KAFKA_AUTO_OFFSET_RESET", "earliest", "where a group with no committed offset starts"),
        .init("INPUT_TOPIC", "ticks.features", "input topic"),
        .init("OUTPUT_TOPIC", "ticks.predictions", "prediction topic"),
        .init("DLQ_TOPIC", "ticks.features.dlq", "dead-letter topic"),
        .init("MODEL_VARIANT", "ml", "ml or baseline (case-insensitive): baseline is the rollback"),
        .init("MODEL_PATH", "config/models/xgb-volatility-5feat.json", "XGBoost JSON model for ml"),
        .init("BASELINE_PATH", "config/models/baseline.json", "z-score baseline parameters"),
        .init("MODEL_CONFIG_FILE", "unset", "JSON overriding the model settings; re-read on SIGHUP (see README, Model operations)"),
        .init("MODEL_FALLBACK", "unset", "baseline: score with the baseline when the ML model cannot load or scores non-finite"),
        .init("SHADOW_VARIANT", "unset", "ml or baseline: score every record with a second model too (compared, not published)"),
        .init("SHADOW_MODEL_PATH", "MODEL_PATH", "XGBoost JSON model of an ml shadow"),
        .init("SHADOW_TOPIC", "unset", "publish shadow predictions here (one per prediction, \"shadow\": true)"),
        .init("ADMIN_TOKEN", "unset: no admin listener", "bearer token of POST /admin/model and /admin/reload; or ADMIN_TOKEN_FILE", secret: true),
        .init("ADMIN_HOST", "127.0.0.1", "admin listen address"),
        .init("ADMIN_PORT", "8002", "admin port (never the metrics port; 0 picks a free port)"),
        .init("METRICS_HOST", "0.0.0.0", "status page, metrics and probes listen address"),
        .init("METRICS_PORT", "8001", "their port; 0 picks a free port (the bound address is logged)"),
        .init("MAX_RECORD_BYTES", "900000", "larger input records are dead-lettered as oversize"),
        .init("LIVENESS_WINDOW_SECONDS", "30", "/healthz fails when the loop made no progress for this long"),
        .init("KAFKA_CONF_<NAME>", "-", "librdkafka property <name> (_ -> ., __ -> _, lower-cased) for both clients"),
        .init("KAFKA_CONSUMER_CONF_<NAME>", "-", "librdkafka property for the consumer only"),
        .init("KAFKA_PRODUCER_CONF_<NAME>", "-", "librdkafka property for the producer only"),
        .init("KAFKA_CONF_<NAME>_FILE", "-", "the property's value read from a file (secrets; one trailing newline stripped; never logged); also for the CONSUMER/PRODUCER forms"),
        .init("UNSAFE_ALLOW_OVERRIDES", "0", "1 lets KAFKA_*CONF_* overrides break the delivery guarantee (acks, enable.idempotence, enable.auto.offset.store, enable.auto.commit, enable.partition.eof, isolation.level, transactional.id); otherwise they stop start-up"),
        .init("KAFKA_STATISTICS_INTERVAL_MS", "5000", "librdkafka statistics interval (lag in records)"),
        .init("MAX_INFLIGHT", "200000", "unacknowledged outputs before fetching pauses"),
        .init("PERFORMANCE_PROFILE", "throughput", "throughput (linger 5 ms, fetch wait 50 ms) or latency (linger 0 ms, fetch wait 1 ms)"),
        .init("STATE_REBUILD_MAX_RECORDS", "100000", "records per partition replayed into the windows after an assignment (0: off)"),
        .init("FETCH_STALL_SECONDS", "30", "a partition that should be delivering and delivered nothing (no record, no end-of-partition) for this long has its fetching restarted (0: off)"),
        .init("STATE_MAX_KEYS", "100000", "products with rolling windows held per input partition; a new product evicts the least recently updated"),
        .init("PROCESSING_THREADS", "2", "2: records are decoded, scored and encoded on a second thread while the processing thread produces the previous batch's outputs (at_least_once; exactly_once always uses 1); 1: all on the processing thread"),
        .init("STATE_IDLE_SECONDS", "3600", "a product's window is dropped after this long without ticks (event time; at least 60)"),
        .init("PROCESSING_GUARANTEE", "at_least_once", "at_least_once, or exactly_once (Kafka transactions; read outputs read_committed)"),
        .init("KAFKA_TRANSACTIONAL_ID", "consumerd-<group>-<instance id or host>", "exactly_once: stable per instance"),
        .init("TRANSACTION_MAX_RECORDS", "5000", "exactly_once: inputs per transaction at most"),
        .init("TRANSACTION_MAX_MS", "100", "exactly_once: a transaction is committed after this long"),
        .init("LABEL_HORIZON_SECONDS", "60", "H: a prediction is scored against the realised volatility of the next H seconds"),
        .init("LABEL_THRESHOLD", "the model's .reference.json", "τ: realised volatility at or above which the realised label is 1"),
        .init("LABEL_MAX_PENDING", "100000", "open label horizons per input partition; the oldest are dropped beyond it"),
        .init("DRIFT_WINDOW_RECORDS", "10000", "predictions in the sliding window compared with the model's reference (PSI)"),
        .init("DRIFT_MIN_RECORDS", "500", "PSI is exported once the drift window holds this many predictions"),
        .init("OUTCOMES_TOPIC", "unset", "topic for one JSON record per completed label horizon (unset: metrics only)"),
        .init("MODEL_URI", "unset", "models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/STAGE: the ML model from the MLflow registry (MODEL_PATH is the last resort)"),
        .init("MLFLOW_TRACKING_URI", "unset", "MLflow tracking server (required with MODEL_URI)"),
        .init("MLFLOW_TRACKING_USERNAME", "unset", "MLflow registry basic-auth user (with MLFLOW_TRACKING_PASSWORD)"),
        .init("MODEL_CACHE_DIR", "$CACHE_DIRECTORY/models or .cache/consumerd/models", "registry downloads, used when the registry is unreachable"),
        .init("MLFLOW_TRACKING_TOKEN", "unset", "MLflow registry bearer token; or MLFLOW_TRACKING_TOKEN_FILE", secret: true),
        .init("MLFLOW_TRACKING_PASSWORD", "unset", "MLflow registry basic-auth password; or MLFLOW_TRACKING_PASSWORD_FILE", secret: true),
        .init("DEMO_SPEEDUP", "1", "consumerd demo: replay speed of the bundled ticks"),
        .init("DEMO_TICKS_PATH", "config/demo/coinbase-btc-usd-ticker.ndjson", "consumerd demo: NDJSON tick file"),
        .init("LOG_LEVEL", "info", "trace, debug, info, notice, warning, error, critical"),
        .init("LOG_FORMAT", "text", "text, or json (one JSON object per line)"),
    ]

    static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> DaemonConfiguration {
        let reader = EnvironmentReader(environment)
        let dataPaths = DataPaths()
        let kafka = try KafkaSettings.fromEnvironment(environment)
        let topics = StreamTopics(
            input: try reader.topic("INPUT_TOPIC", default: "ticks.features"),
            output: try reader.topic("OUTPUT_TOPIC", default: "ticks.predictions"),
            deadLetter: try reader.topic("DLQ_TOPIC", default: "ticks.features.dlq")
        )
        let modelSpec = try ModelSpec.fromEnvironment(reader)
        let maxRecordBytes = try reader.integer("MAX_RECORD_BYTES", default: 900_000, in: 1...100_000_000)
        let messageMaxBytes = Self.producerMessageMaxBytes(kafka)
        guard maxRecordBytes <= messageMaxBytes - 16_384 else {
            throw ConfigurationError(
                variable: "MAX_RECORD_BYTES",
                reason: "\(maxRecordBytes) does not leave room for dead-letter headers below the producer's message.max.bytes (\(messageMaxBytes)); use at most \(messageMaxBytes - 16_384) or raise KAFKA_PRODUCER_CONF_MESSAGE_MAX_BYTES"
            )
        }
        let guarantee = try Self.guarantee(reader, kafka: kafka)
        let violations = KafkaOverrideGuard.violations(kafka, guarantee: guarantee)
        let allowUnsafe = try reader.flag("UNSAFE_ALLOW_OVERRIDES")
        if !allowUnsafe, let first = violations.first {
            throw ConfigurationError(variable: first.property.source, reason: Self.violationReason(first))
        }
        return DaemonConfiguration(
            kafka: kafka,
            topics: topics,
            modelVariant: modelSpec.variant,
            modelPath: modelSpec.modelPath,
            baselinePath: modelSpec.baselinePath,
            metricsHost: reader.string("METRICS_HOST") ?? "0.0.0.0",
            metricsPort: try reader.integer("METRICS_PORT", default: 8001, in: 0...65_535),
            maxRecordBytes: maxRecordBytes,
            livenessWindowSeconds: try reader.double("LIVENESS_WINDOW_SECONDS", default: 30, in: 0.1...86_400),
            demoSpeedup: try reader.double("DEMO_SPEEDUP", default: 1, in: 0.001...1_000_000),
            demoTicksPath: dataPaths.resolve(explicit: reader.string("DEMO_TICKS_PATH"), defaultRelativePath: "config/demo/coinbase-btc-usd-ticker.ndjson"),
            maxInflight: try reader.integer("MAX_INFLIGHT", default: StreamProcessorOptions.defaultMaxInflight, in: 1...10_000_000),
            stateRebuildMaxRecords: try reader.integer("STATE_REBUILD_MAX_RECORDS", default: 100_000, in: 0...100_000_000),
            fetchStallSeconds: try Self.fetchStallSeconds(reader),
            stateMaxKeys: try reader.integer("STATE_MAX_KEYS", default: FeatureWindows.defaultMaxKeys, in: 1...10_000_000),
            stateIdleSeconds: try reader.double(
                "STATE_IDLE_SECONDS", default: FeatureWindows.defaultIdleSeconds, in: 60...31_536_000),
            processingThreads: try reader.integer("PROCESSING_THREADS", default: 2, in: 1...2),
            guarantee: guarantee,
            stallInjection: try reader.string("CONSUMERD_FAULT_STALL_MARKER").map { marker throws(ConfigurationError) in
                StallInjection(
                    marker: Array(marker.utf8),
                    seconds: try reader.double("CONSUMERD_FAULT_STALL_SECONDS", default: 10, in: 0...3600)
                )
            },
            fetchFault: try Self.fetchFault(reader),
            modelSpec: modelSpec,
            model: try ModelSettings.fromEnvironment(reader),
            unsafeOverrides: allowUnsafe ? violations : [],
            quality: try QualityConfiguration.fromEnvironment(reader),
            registry: try Self.registry(environment, reader)
        )
    }

    /// `CONSUMERD_FAULT_PAUSE_PARTITION=N` (test-only): partition N is paused behind the engine once, when it first reaches its end.
    static func fetchFault(_ reader: EnvironmentReader) throws(ConfigurationError) -> FetchFault? {
        guard reader.string("CONSUMERD_FAULT_PAUSE_PARTITION") != nil else { return nil }
        let partition = try reader.integer("CONSUMERD_FAULT_PAUSE_PARTITION", default: 0, in: 0...100_000)
        return .pauseBehindEngine(partition: Int32(partition))
    }

    /// `FETCH_STALL_SECONDS`: 0 (off), or a window well above librdkafka's fetch round trip.
    static func fetchStallSeconds(_ reader: EnvironmentReader) throws(ConfigurationError) -> Double {
        let seconds = try reader.double("FETCH_STALL_SECONDS", default: 30, in: 0...86_400)
        guard seconds == 0 || seconds >= 2 else {
            throw ConfigurationError(
                variable: "FETCH_STALL_SECONDS",
                reason: "\(seconds) is shorter than a slow fetch round trip: use 0 (off) or at least 2"
            )
        }
        return seconds
    }

    /// The part of a violation after the variable name (``ConfigurationError`` adds the name).
    static func violationReason(_ violation: KafkaOverrideGuard.Violation) -> String {
        let full = violation.description
        let prefix = violation.property.source + " "
        return full.hasPrefix(prefix) ? String(full.dropFirst(prefix.count)) : full
    }

    /// The registry settings, with the credentials read from `…_FILE` where given.
    static func registry(_ environment: [String: String], _ reader: EnvironmentReader) throws(ConfigurationError) -> RegistrySettings {
        var registryEnvironment = environment
        for name in ["MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD"] {
            registryEnvironment[name] = try reader.secret(name)
        }
        do {
            return try RegistrySettings.fromEnvironment(registryEnvironment)
        } catch {
            throw ConfigurationError(variable: error.variable, reason: error.reason)
        }
    }

    /// `PROCESSING_GUARANTEE=at_least_once|exactly_once` and the transaction settings of the latter.
    static func guarantee(_ reader: EnvironmentReader, kafka: KafkaSettings) throws(ConfigurationError) -> ProcessingGuarantee {
        let text = reader.string("PROCESSING_GUARANTEE")?.lowercased().replacingOccurrences(of: "-", with: "_") ?? "at_least_once"
        switch text {
        case "at_least_once":
            return .atLeastOnce
        case "exactly_once":
            let instance = kafka.groupInstanceId ?? ProcessInfo.processInfo.hostName
            return .exactlyOnce(ExactlyOnceOptions(
                transactionalId: reader.string("KAFKA_TRANSACTIONAL_ID") ?? "consumerd-\(kafka.groupId)-\(instance)",
                maxRecordsPerTransaction: try reader.integer("TRANSACTION_MAX_RECORDS", default: 5000, in: 1...1_000_000),
                maxTransactionMillis: try reader.integer("TRANSACTION_MAX_MS", default: 100, in: 1...600_000)
            ))
        default:
            throw ConfigurationError(
                variable: "PROCESSING_GUARANTEE",
                reason: "'\(text)' is not valid: use at_least_once or exactly_once"
            )
        }
    }

    /// The producer's `message.max.bytes` as configured (librdkafka's default is 1,000,000).
    static func producerMessageMaxBytes(_ kafka: KafkaSettings) -> Int {
        let overrides = kafka.commonProperties + kafka.producerProperties
        return overrides.last { $0.name == "message.max.bytes" }.flatMap { Int($0.value) } ?? 1_000_000
    }
}

/// One row of the variable table (`--help`, `consumerd config`, README).
struct DocumentedVariable: Sendable {
    var name: String
    var defaultValue: String
    var meaning: String
    /// Carries a secret: `NAME_FILE` may name a file holding it, and its value is never printed.
    var secret: Bool

    init(_ name: String, _ defaultValue: String, _ meaning: String, secret: Bool = false) {
        self.name = name
        self.defaultValue = defaultValue
        self.meaning = meaning
        self.secret = secret
    }
}

/// Typed reads of environment variables with errors that name the variable.
struct EnvironmentReader {
    let environment: [String: String]

    init(_ environment: [String: String]) {
        self.environment = environment
    }

    /// The trimmed value, or `nil` when unset or empty.
    func string(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// `1`/`true`/`yes` or `0`/`false`/`no` (unset: false).
    func flag(_ name: String) throws(ConfigurationError) -> Bool {
        guard let text = string(name)?.lowercased() else { return false }
        switch text {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw ConfigurationError(variable: name, reason: "'\(text)' is not valid: use 1 or 0")
        }
    }

    func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(
                variable: name,
                reason: "'\(text)' is not a whole number between \(range.lowerBound) and \(range.upperBound)"
            )
        }
        return value
    }

    func double(_ name: String, default defaultValue: Double, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let text = string(name) else { return defaultValue }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ConfigurationError(
                variable: name,
                reason: "'\(text)' is not a number between \(range.lowerBound) and \(range.upperBound)"
            )
        }
        return value
    }

    /// A Kafka topic name: 1–249 characters of `[A-Za-z0-9._-]`.
    func topic(_ name: String, default defaultValue: String) throws(ConfigurationError) -> String {
        guard let value = string(name) else { return defaultValue }
        let valid = value.count <= 249 && value != "." && value != ".."
            && value.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
        guard valid else {
            throw ConfigurationError(variable: name, reason: "'\(value)' is not a valid Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)")
        }
        return value
    }
}

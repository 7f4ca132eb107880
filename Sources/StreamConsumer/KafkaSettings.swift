import Foundation

/// One librdkafka property, with the environment variable it came from (for error messages).
public struct KafkaProperty: Sendable, Equatable {
    public var name: String
    public var value: String
    /// The environment variable or built-in default that set it.
    public var source: String
    /// Read from the file a `…_FILE` variable names: never logged, whatever the property.
    public var fromFile: Bool

    public init(name: String, value: String, source: String, fromFile: Bool = false) {
        self.name = name
        self.value = value
        self.source = source
        self.fromFile = fromFile
    }

    /// True for properties whose value must never be logged (passwords, keys, tokens), and for every value read
    /// from a file.
    public var isSecret: Bool {
        fromFile || Self.isSecretName(name)
    }

    /// True for librdkafka property names that carry a secret (a password, key or token; not a file location).
    public static func isSecretName(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["password", "secret", "key", "token", "sasl.oauthbearer.config", "sasl.jaas"].contains {
            lowered.contains($0)
        } && !lowered.hasSuffix(".location") && lowered != "ssl.key.location"
    }

    /// The value as it may appear in logs.
    public var displayValue: String { isSecret ? "[REDACTED]" : value }
}

/// Kafka connection settings read from the environment.
///
/// `KAFKA_CONF_<NAME>` passes any librdkafka property through to both the consumer and the producer
/// (`_` becomes `.`, `__` a literal `_`, lower-cased); `KAFKA_CONSUMER_CONF_<NAME>` and `KAFKA_PRODUCER_CONF_<NAME>`
/// reach only one of them. librdkafka itself validates names and values when the clients are created.
/// `KAFKA_CONF_<NAME>_FILE` (and the consumer/producer forms) set the same property from a file's content (one
/// trailing newline stripped): `KAFKA_CONF_SASL_PASSWORD_FILE=/run/secrets/kafka` sets `sasl.password`. The `_FILE`
/// suffix is never part of a property name, and such values are never logged.
public struct KafkaSettings: Sendable, Equatable {
    /// Broker list; `nil` means "start the embedded mock cluster".
    public var bootstrapServers: String?
    public var groupId: String
    /// Static membership (KIP-345): a restarted instance gets its partitions back without a rebalance.
    public var groupInstanceId: String?
    /// Where a group with no committed offset starts.
    public var autoOffsetReset: String

    /// librdkafka's logical offset for ``autoOffsetReset`` (where a partition with nothing committed starts):
    /// beginning or end; `nil` for `error`.
    var logicalStartOffset: Int64? {
        switch autoOffsetReset {
        case "earliest", "smallest", "beginning": PartitionOffset.beginning
        case "latest", "largest", "end": PartitionOffset.end
        default: nil
        }
    }
    /// How often librdkafka emits statistics (lag in records, queue depth).
    public var statisticsIntervalMs: Int
    /// `throughput` (default: linger 5 ms, fetch wait 50 ms) or `latency` (linger 0 ms, fetch wait 1 ms).
    public var performanceProfile: PerformanceProfile = .throughput
    public var commonProperties: [KafkaProperty]
    public var consumerProperties: [KafkaProperty]
    public var producerProperties: [KafkaProperty]

    public init(
        bootstrapServers: String? = nil,
        groupId: String = "volatility-consumer",
        groupInstanceId: String? = nil,
        autoOffsetReset: String = "earliest",
        statisticsIntervalMs: Int = 5000,
        commonProperties: [KafkaProperty] = [],
        consumerProperties: [KafkaProperty] = [],
        producerProperties: [KafkaProperty] = []
    ) {
        self.bootstrapServers = bootstrapServers
        self.groupId = groupId
        self.groupInstanceId = groupInstanceId
        self.autoOffsetReset = autoOffsetReset
        self.statisticsIntervalMs = statisticsIntervalMs
        self.commonProperties = commonProperties
        self.consumerProperties = consumerProperties
        self.producerProperties = producerProperties
    }

    /// Reads `KAFKA_*` variables. Empty values count as unset. `readFile` reads the files `…_FILE` variables name.
    public static func fromEnvironment(
        _ environment: [String: String], readFile: SecretFiles.Reader = SecretFiles.readFromDisk
    ) throws(ConfigurationError) -> KafkaSettings {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        var settings = KafkaSettings()
        settings.bootstrapServers = value("KAFKA_BOOTSTRAP_SERVERS")
        settings.groupId = value("KAFKA_GROUP_ID") ?? settings.groupId
        settings.groupInstanceId = value("KAFKA_GROUP_INSTANCE_ID")
        if let reset = value("KAFKA_AUTO_OFFSET_RESET") {
            let accepted = ["earliest", "latest", "error", "smallest", "largest", "beginning", "end"]
            guard accepted.contains(reset.lowercased()) else {
                throw ConfigurationError(
                    variable: "KAFKA_AUTO_OFFSET_RESET",
                    reason: "'\(reset)' is not valid: use earliest or latest"
                )
            }
            settings.autoOffsetReset = reset.lowercased()
        }
        if let interval = value("KAFKA_STATISTICS_INTERVAL_MS") {
            guard let parsed = Int(interval), parsed >= 0, parsed <= 86_400_000 else {
                throw ConfigurationError(
                    variable: "KAFKA_STATISTICS_INTERVAL_MS",
                    reason: "'\(interval)' is not a whole number of milliseconds (0 disables statistics)"
                )
            }
            settings.statisticsIntervalMs = parsed
        }
        if let profile = value("PERFORMANCE_PROFILE") {
            guard let parsed = PerformanceProfile(rawValue: profile.lowercased()) else {
                throw ConfigurationError(variable: "PERFORMANCE_PROFILE", reason: "'\(profile)' is not valid: use throughput or latency")
            }
            settings.performanceProfile = parsed
        }
        for (variable, raw) in environment.sorted(by: { $0.key < $1.key }) {
            for (prefix, target) in [
                ("KAFKA_CONF_", \KafkaSettings.commonProperties),
                ("KAFKA_CONSUMER_CONF_", \KafkaSettings.consumerProperties),
                ("KAFKA_PRODUCER_CONF_", \KafkaSettings.producerProperties),
            ] where variable.hasPrefix(prefix) {
                var suffix = variable.dropFirst(prefix.count)
                let fromFile = suffix.hasSuffix(SecretFiles.suffix)
                if fromFile { suffix = suffix.dropLast(SecretFiles.suffix.count) }
                guard !suffix.isEmpty else {
                    throw ConfigurationError(variable: variable, reason: "names no librdkafka property")
                }
                var value = raw
                if fromFile {
                    let direct = prefix + suffix
                    if environment[direct] != nil {
                        throw ConfigurationError(variable: variable, reason: "\(direct) is set too: set one of them")
                    }
                    let path = raw.trimmingCharacters(in: .whitespaces)
                    switch readFile(path) {
                    case .success(let content): value = content
                    case .failure(let error):
                        throw ConfigurationError(variable: variable, reason: "cannot read '\(path)': \(error.reason)")
                    }
                }
                settings[keyPath: target].append(
                    KafkaProperty(
                        name: propertyName(fromVariableSuffix: suffix), value: value, source: variable, fromFile: fromFile)
                )
            }
        }
        return settings
    }

    /// `SASL_MECHANISM` → `sasl.mechanism`; `SASL_OAUTHBEARER_CLIENT__ID` → `sasl.oauthbearer.client_id`.
    public static func propertyName(fromVariableSuffix suffix: Substring) -> String {
        let placeholder = "\u{0}"
        return suffix.replacingOccurrences(of: "__", with: placeholder)
            .replacingOccurrences(of: "_", with: ".")
            .replacingOccurrences(of: placeholder, with: "_")
            .lowercased()
    }
}

/// Batching trade-off of both clients: the operator's `KAFKA_*CONF_*` overrides still win.
public enum PerformanceProfile: String, Sendable, Equatable {
    /// Larger batches: linger 5 ms, fetch wait 50 ms.
    case throughput
    /// Lowest end-to-end latency: outputs are sent at once (linger 0 ms) and a fetch that finds nothing returns
    /// after 1 ms. The cost is more, smaller requests: an idle consumer sends about 1,000 fetch requests a
    /// second per broker. (Apache Kafka answers a waiting fetch as soon as data arrives, so on it a longer
    /// `KAFKA_CONSUMER_CONF_FETCH_WAIT_MAX_MS` saves those requests at no latency cost; librdkafka's mock
    /// cluster always waits the full time.)
    case latency

    var lingerMs: String { self == .latency ? "0" : "5" }
    var fetchWaitMaxMs: String { self == .latency ? "1" : "50" }
}

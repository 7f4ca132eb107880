import Crdkafka

/// Owns an `rd_kafka_conf_t` while it is being filled; hands it over to `rd_kafka_new`.
///
/// Each `set` names the setting's source so that a value librdkafka rejects (an unknown property, a bad value)
/// becomes a ``ConfigurationError`` naming the environment variable to fix.
struct KafkaConf: ~Copyable {
    private(set) var handle: OpaquePointer?

    init() {
        handle = rd_kafka_conf_new()
    }

    deinit {
        if let handle { rd_kafka_conf_destroy(handle) }
    }

    mutating func set(_ name: String, _ value: String, source: String) throws(ConfigurationError) {
        guard let handle else { return }
        let (result, reason) = withErrorText { rd_kafka_conf_set(handle, name, value, $0, $1) }
        switch result {
        case RD_KAFKA_CONF_OK:
            return
        case RD_KAFKA_CONF_UNKNOWN:
            throw ConfigurationError(variable: source, reason: "librdkafka has no property '\(name)'")
        default:
            throw ConfigurationError(variable: source, reason: "invalid value for '\(name)': \(reason)")
        }
    }

    mutating func set(_ property: KafkaProperty) throws(ConfigurationError) {
        try set(property.name, property.value, source: property.source)
    }

    /// Creates a client; on success librdkafka owns the configuration.
    mutating func makeClient(_ type: rd_kafka_type_t, operation: String) throws(KafkaError) -> OpaquePointer {
        let (client, reason) = withErrorText { rd_kafka_new(type, handle, $0, $1) }
        guard let client else {
            throw KafkaError(operation: operation, message: reason)
        }
        handle = nil
        return client
    }
}

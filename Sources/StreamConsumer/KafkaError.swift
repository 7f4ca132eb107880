import Crdkafka

/// A failure reported by librdkafka, with the operation that hit it.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What consumerd was doing, e.g. `"subscribe to ticks.features"`.
    public var operation: String
    /// librdkafka's error code (`rd_kafka_resp_err_t`), or -1 when the failure has none.
    public var code: Int32
    /// librdkafka's human-readable explanation.
    public var message: String

    public init(operation: String, code: Int32 = -1, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }

    init(operation: String, error: rd_kafka_resp_err_t) {
        self.init(operation: operation, code: error.rawValue, message: String(cString: rd_kafka_err2str(error)))
    }

    public var description: String { "\(operation) failed: \(message)" }
}

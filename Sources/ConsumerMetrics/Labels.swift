//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// The closed label-value sets of consumerd's labelled metrics. Every labelled
// family is pre-populated with one series per case at start-up so that rates
// and ratios exist before the first event, and no label ever takes a value
// outside these sets.
//
//===----------------------------------------------------------------------===//

/// Why a record failed, as reported in `volatility_consumer_errors_total{error_type}` and,
/// for record-level errors, `volatility_consumer_dlq_records_total{error_type}`.
public enum ErrorType: String, Sendable, CaseIterable {
    /// The payload was not valid JSON / could not be decoded.
    case parseError = "parse_error"
    /// The payload decoded but did not match the expected schema.
    case schemaError = "schema_error"
    /// A field had a value outside its valid domain (NaN, negative price, …).
    case invalidValue = "invalid_value"
    /// The payload exceeded the maximum accepted record size.
    case oversize = "oversize"
    /// The model failed to produce a prediction.
    case modelError = "model_error"
    /// Publishing a prediction (or dead letter) failed.
    case produceError = "produce_error"
    /// A Kafka client error not tied to a single record.
    case kafkaError = "kafka_error"
    /// Committing consumer offsets failed.
    case commitError = "commit_error"

    /// The error types that describe a bad *input record* and therefore route it to the
    /// dead-letter topic. Only these appear in `volatility_consumer_dlq_records_total`.
    public static let recordErrors: [ErrorType] = [.parseError, .schemaError, .invalidValue, .oversize]

    /// The error types that send a record to the dead-letter topic: bad input, and a model that gave no usable
    /// score with no fallback configured (`model_error`). Only these appear in `dlq_records_total`.
    public static let deadLetterTypes: [ErrorType] = recordErrors + [.modelError]

    /// Whether this error type describes a bad input record (see ``recordErrors``).
    public var isRecordError: Bool {
        switch self {
        case .parseError, .schemaError, .invalidValue, .oversize:
            return true
        case .modelError, .produceError, .kafkaError, .commitError:
            return false
        }
    }
}

/// A timed step of the per-record pipeline, reported in `volatility_consumer_stage_seconds{stage}`.
public enum Stage: String, Sendable, CaseIterable {
    /// Decoding the Kafka payload into a tick.
    case decode
    /// Updating rolling state and computing the feature vector.
    case features
    /// Running the model.
    case predict
    /// Serializing the prediction.
    case encode
    /// From handing the prediction to the producer until its delivery report.
    case produceAck = "produce_ack"

    /// Position in `allCases`.
    var index: Int {
        switch self {
        case .decode: 0
        case .features: 1
        case .predict: 2
        case .encode: 3
        case .produceAck: 4
        }
    }
}

/// A consumer-group rebalance event, reported in `volatility_consumer_rebalances_total{kind}`.
public enum RebalanceKind: String, Sendable, CaseIterable {
    /// Partitions were assigned to this consumer.
    case assign
    /// Partitions were revoked cooperatively/eagerly.
    case revoke
    /// Partitions were lost (e.g. session timeout) without a clean revoke.
    case lost
}

/// Why a record was consumed without producing a prediction or a dead letter,
/// reported in `volatility_consumer_records_skipped_total{reason}`.
public enum SkipReason: String, Sendable, CaseIterable {
    /// The tick carried no usable price.
    case noPrice = "no_price"
    /// The per-key rolling window is not yet full enough to compute features.
    case warmingUp = "warming_up"
}

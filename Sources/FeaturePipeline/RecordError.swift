/// The class of a record that cannot be turned into a prediction.
///
/// The raw values are the labels used in dead-letter headers and metrics, so they are part of the
/// daemon's operational interface and must not change.
public enum RecordErrorType: String, Sendable, CaseIterable {
    /// The bytes are not a single, well-formed JSON document (bad syntax, invalid UTF-8, trailing data,
    /// nesting deeper than the configured limit).
    case parseError = "parse_error"
    /// Well-formed JSON that is not one of the accepted record shapes, lacks a required field, or has a
    /// field of the wrong JSON type.
    case schemaError = "schema_error"
    /// The shape is right but a value is unusable: non-finite or non-positive prices, bid above ask,
    /// event times outside the plausible range.
    case invalidValue = "invalid_value"
    /// The record is larger than the configured limit and was not parsed at all.
    case oversize = "oversize"
}

/// Why one input record was rejected.
///
/// `reason` is a short, human-readable sentence meant for an operator reading a dead-letter header or a log
/// line, e.g. `field 'price' is not a number or decimal string`.
public struct RecordError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of the failure (stable label for metrics).
    public let type: RecordErrorType
    /// What exactly was wrong, for humans.
    public let reason: String

    /// Creates an error of the given class with an explanation.
    public init(type: RecordErrorType, reason: String) {
        self.type = type
        self.reason = reason
    }

    public var description: String { "\(self.type.rawValue): \(self.reason)" }
}

extension RecordError {
    @inline(never)
    static func parse(_ reason: String, at offset: Int) -> RecordError {
        RecordError(type: .parseError, reason: "\(reason) at byte \(offset)")
    }

    @inline(never)
    static func schema(_ reason: String) -> RecordError {
        RecordError(type: .schemaError, reason: reason)
    }

    @inline(never)
    static func invalid(_ reason: String) -> RecordError {
        RecordError(type: .invalidValue, reason: reason)
    }
}

/// Why a well-formed record produced no prediction (not an error: nothing is dead-lettered).
public enum SkipReason: String, Sendable, CaseIterable {
    /// A control message (e.g. Coinbase `subscriptions` or `heartbeat`) that carries no price.
    case noPrice = "no_price"
    /// The product's window holds fewer than two ticks, so features are not defined yet.
    case warmingUp = "warming_up"
}

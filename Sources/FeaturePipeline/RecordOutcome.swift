/// What happened to one input record.
public enum RecordOutcome: Sendable, Equatable {
    /// The record produced a prediction to publish.
    case prediction(Prediction)
    /// The record was well-formed but produced nothing (control message, or window still warming up).
    case skipped(SkipReason)
    /// The record is unusable and should go to the dead-letter topic with this error.
    case deadLetter(RecordError)
}

/// Time spent per stage of ``RecordPipeline/process(value:key:kafkaTimestamp:now:timings:)``, in
/// monotonic-clock nanoseconds. Stages that did not run are left at 0.
public struct StageTimings: Sendable {
    /// Decoding (JSON scan, validation, tick assembly).
    public var decodeNanos: UInt64 = 0
    /// Window update and feature computation.
    public var featuresNanos: UInt64 = 0
    /// Model scoring.
    public var predictNanos: UInt64 = 0

    /// Creates zeroed timings.
    public init() {}
}

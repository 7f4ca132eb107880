/// What an output record stands for, handed back with its delivery report.
public enum OutputKind: Sendable, Equatable {
    /// A prediction with its decision and probability; `model` is the handler's tag for the model that scored
    /// it (the daemon: 0 = ml, 1 = baseline), handed back for per-model metrics.
    case prediction(label: Int8, probability: Double, model: UInt8 = 0)
    /// A dead-letter record for an input that failed with `errorType` (e.g. `parse_error`).
    case deadLetter(errorType: String)
    /// An output to one of the extra topics (see ``ExtraOutputs``).
    case extra(ExtraTopic)
}

/// Why an input goes to the dead-letter topic.
public struct DeadLetter: Sendable, Equatable {
    /// Metric label and `error_type` header, e.g. `schema_error`.
    public var errorType: String
    /// A short human-readable reason, sent as the `error` header.
    public var reason: String
    /// When set, only the first this many bytes of the input are kept and an `original_size` header is added.
    public var truncateTo: Int?

    public init(errorType: String, reason: String, truncateTo: Int? = nil) {
        self.errorType = errorType
        self.reason = reason
        self.truncateTo = truncateTo
    }
}

/// The handler's verdict on one input record.
public enum RecordDisposition: Sendable {
    /// No output: the input's offset is done at once.
    case skip
    /// Publish the handler's output buffer to the output topic under `key`.
    case publish(key: String, kind: OutputKind)
    /// Route the original bytes to the dead-letter topic.
    case deadLetter(DeadLetter)
}

/// Turns input records into outputs. Called on the processing thread only, one record at a time.
public protocol RecordHandler: AnyObject {
    /// Decides what `record` becomes. For ``RecordDisposition/publish(key:kind:)`` the output value is what the
    /// handler wrote into `output` (cleared by the handler; its capacity is reused between calls).
    func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition

    /// As ``handle(_:output:)``, and appends the record's further outputs (to ``StreamTopics/extra`` topics) to
    /// `extras`, which the driver cleared. The driver calls this one; the default calls ``handle(_:output:)``
    /// and adds nothing.
    func handle(_ record: ConsumedRecord, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition

    /// Forget the per-key state of `partitions`: they were revoked, or their state is about to be rebuilt from
    /// the log. State of other partitions stays.
    func resetState(partitions: Set<Int32>)

    /// How far back in event time the state reaches (the feature window, and anything else kept per key): a
    /// rebuild that can look offsets up by time starts that far before the resume point. `nil`: rebuilds go back
    /// by record count only.
    var stateReachSeconds: Double? { get }

    /// The event time of a record as the state sees it (`nil` when it has none); used to check that a rebuild
    /// started early enough.
    func eventTime(of record: ConsumedRecord) -> Double?

    /// A record from before the partition's committed offset, replayed in order to rebuild state after an
    /// assignment (restart, rebalance). Update state exactly as ``handle(_:output:)`` would; produce nothing.
    func warmUp(_ record: ConsumedRecord)
}

extension RecordHandler {
    public func handle(_ record: ConsumedRecord, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition {
        handle(record, output: &output)
    }

    /// Stateless handlers need no rebuild.
    public func resetState(partitions: Set<Int32>) {}
    public func warmUp(_ record: ConsumedRecord) {}
    public var stateReachSeconds: Double? { nil }
    public func eventTime(of record: ConsumedRecord) -> Double? { nil }
}

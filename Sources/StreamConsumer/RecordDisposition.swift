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

/// Turns input records into outputs, one record at a time, in order, never from two threads at once: on the processing
/// thread, or on the handler's own thread (``StreamProcessorOptions/handlerThread``) with resets and rebuilds on the
/// processing thread while that one waits. Only ``prepare(_:in:)`` may run beside the others.
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

    /// Whether the handler splits its work in two (``prepare(_:in:)``, then ``handle(_:prepared:output:extras:)``)
    /// when it runs on a thread of its own (``StreamProcessorOptions/handlerThread``).
    var preparesRecords: Bool { get }

    /// The part of handling that reads and writes no state (decoding): called on the processing thread as the
    /// record is admitted, while the handler's thread decides the previous batch, and possibly at the same time
    /// as ``handle(_:prepared:output:extras:)`` for another record. Keep the result in `slot`'s storage.
    func prepare(_ record: ConsumedRecord, in slot: PreparedSlot)

    /// ``handle(_:output:extras:)`` for a record ``prepare(_:in:)`` prepared into `slot`.
    func handle(_ record: ConsumedRecord, prepared slot: PreparedSlot, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition
}

/// Where a handler keeps what ``RecordHandler/prepare(_:in:)`` made of a record until
/// ``RecordHandler/handle(_:prepared:output:extras:)`` uses it: one of ``batches`` × ``capacity`` places. A slot
/// is written by one thread and read by another only after the batch it belongs to was handed over; slots of
/// different batches are used by different threads at the same time, so storage must not be shared between
/// them (one fixed buffer, indexed by ``offset``, is the intended shape).
public struct PreparedSlot: Sendable, Hashable {
    /// Batches in use at once: one being collected, one being decided, one being produced.
    public static let batches = 3
    /// Records per batch at most (the processing loop's lead over a busy stage: `EngineDriver.handOff`).
    public static let capacity = 4096

    public let batch: Int
    public let index: Int

    public init(batch: Int, index: Int) {
        precondition(batch >= 0 && batch < Self.batches && index >= 0 && index < Self.capacity, "prepared slot out of range")
        self.batch = batch
        self.index = index
    }

    /// The slot's place in storage for `batches × capacity` entries.
    public var offset: Int { batch * Self.capacity + index }
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

    /// Handlers that do not prepare records handle them in one step.
    public var preparesRecords: Bool { false }
    public func prepare(_ record: ConsumedRecord, in slot: PreparedSlot) {}
    public func handle(
        _ record: ConsumedRecord, prepared slot: PreparedSlot, output: inout [UInt8], extras: inout ExtraOutputs
    ) -> RecordDisposition {
        handle(record, output: &output, extras: &extras)
    }
}

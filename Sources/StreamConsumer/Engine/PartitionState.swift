/// One assigned input partition as the engine tracks it.
struct PartitionState: Equatable, Sendable {
    /// Where the partition is between its assignment and normal fetching.
    enum Phase: Equatable, Sendable {
        /// Assigned and paused; the committed offset is being looked up (from the loop, not the callback).
        /// `rewind`: after an aborted transaction, the consumer must also be moved back to it.
        case awaitingCommitted(rewind: Bool)
        /// Paused while the handler's state is replayed from the log up to the committed offset.
        case rebuilding
        /// Fetching (unless back-pressure or shutdown pause it).
        case active
    }

    /// Distinguishes this assignment (or rewind) from earlier ones: late delivery reports of an earlier one
    /// complete nothing here.
    var generation: UInt32
    var phase: Phase
    var progress: PartitionProgress
    /// Next offset to handle (last handled + 1); before the first record, the committed offset once known.
    var position: Int64?
    /// Whether librdkafka has this partition paused, as the engine last told it.
    var fetchPaused: Bool
    /// The partition's end was reached and nothing was fetched since.
    var atEnd = false
    /// Where librdkafka last said the partition's end was (its end-of-partition event's offset).
    var endOffset: Int64?
    /// The lowest offset of a record fetched while the partition was not active (it was not handled): fetching
    /// is moved back to it before the partition resumes, so nothing is skipped.
    var heldFrom: Int64?
    /// Moved back to its committed offset after an aborted transaction: records fetched before it resumes are
    /// older than that move and are not held (the seek already says where to read).
    var rewound = false
    /// Exactly-once, after an abort: the first offset the aborted transaction admitted here, the rewind's target
    /// when no committed offset can be read.
    var rewindTo: Int64?
    /// The committed-offset look-up failed when it was assigned: until it handles a record, where librdkafka
    /// fetches from is unknown here (not necessarily `auto.offset.reset`'s position).
    var startUnknown = false
    /// Kafka timestamp (epoch seconds) of the last handled record.
    var lastHandledTimestamp: Double?
    /// When this assignment (or rewind) began: records that wait in a partition nothing was handled from yet
    /// have waited at least this long (the lag's age while the committed offset is looked up or state rebuilt).
    var assignedNanos: UInt64
    /// When librdkafka last delivered anything for it (a record, handled or not, or its end), or when it last
    /// resumed fetching: how long it has been silent.
    var heardNanos: UInt64 = 0
    /// Fetch-watch restarts since librdkafka last delivered anything for it (a record or its end): restarts that
    /// brought nothing. Past ``DeliveryEngine/restartsBeforeAssigningAgain(afterInVain:)`` (doubled for each reassignment
    /// that brought nothing either) it is assigned again instead, if records wait.
    var fruitlessRestarts = 0
    /// Assigned with reassignments in vain counted (``DeliveryEngine/reassignsInVain``): the first record or end it
    /// delivers clears them (a flag here, so that the hot path looks nothing up).
    var reassignedInVain = false

    init(generation: UInt32, phase: Phase, assignedNanos: UInt64) {
        self.generation = generation
        self.phase = phase
        self.assignedNanos = assignedNanos
        self.progress = PartitionProgress(generation: generation)
        self.fetchPaused = true
    }

    /// Whether its committed offset is still to be looked up.
    var awaitsCommitted: Bool {
        if case .awaitingCommitted = self.phase { return true }
        return false
    }

    /// What ``setFetching(pausedUnlessActive:)`` changed.
    enum FetchChange: Equatable {
        case pause
        /// Resume, after moving fetching back to `seek` (records fetched while not active) when set.
        case resume(seek: Int64?)
    }

    /// Makes ``fetchPaused`` what the engine wants — paused when `paused` or when not active — and says what
    /// librdkafka must be told (`nil`: nothing changed).
    mutating func setFetching(pausedUnlessActive paused: Bool) -> FetchChange? {
        let wantPaused = paused || self.phase != .active
        guard wantPaused != self.fetchPaused else { return nil }
        self.fetchPaused = wantPaused
        if wantPaused { return .pause }
        defer { self.heldFrom = nil }
        return .resume(seek: self.heldFrom)
    }
}

/// A revoked partition whose per-key state the handler still holds: kept if the partition comes back at the
/// position it left (eager rebalancing gives every partition back on every group change).
struct ParkedPartition: Equatable, Sendable {
    /// The next offset to handle when it left.
    var position: Int64
}

/// The engine's lifecycle: one enum, not flags.
enum EngineLifecycle: Equatable, Sendable {
    /// Handling records.
    case running
    /// A stop was requested: no new inputs; outputs in flight are still delivered and their offsets stored.
    case draining
    /// The final offsets (or transaction) were handed out: nothing more happens.
    case stopped
}

extension Dictionary where Key == Int32, Value == PartitionState {
    /// Visits every partition's state in place (storage order). Not `for index in indices`: `indices` holds the
    /// dictionary's storage, so the first mutation through it would copy the whole dictionary (measured: a copy
    /// of every partition's state on every loop pass).
    @inline(__always)
    mutating func forEachInPlace(_ body: (Int32, inout PartitionState) -> Void) {
        var index = self.startIndex
        while index != self.endIndex {
            body(self.keys[index], &self.values[index])
            index = self.index(after: index)
        }
    }
}

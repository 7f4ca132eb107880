/// At-least-once: an input's offset is stored once all its outputs are acknowledged and every earlier input's
/// are too (the contiguous watermark); librdkafka's auto-commit sends stored offsets to the group.
struct AtLeastOnceCommits: CommitStrategy {
    /// Watermarks are stored at most this often (librdkafka's store takes a lock per call).
    var storeIntervalNanos: UInt64 = 50_000_000
    private var lastStoreNanos: UInt64 = 0

    init(storeIntervalNanos: UInt64 = 50_000_000) {
        self.storeIntervalNanos = storeIntervalNanos
    }

    var retriesFailedOutputs: Bool { true }
    var allowsHandlingAhead: Bool { true }
    var readsOutputMetadataAtStart: Bool { true }

    var wantsPromptTick: Bool { false }
    var holdsRecords: Bool { false }
    var pausesFetching: Bool { false }
    mutating func abortTimedOut() {}

    mutating func admitted(partition: Int32, offset: Int64, now: UInt64) -> Bool { false }

    mutating func outputFailed() {}

    mutating func tick(now: UInt64, idle: Bool, partitions: inout [Int32: PartitionState], into actions: inout [EngineAction]) {
        guard now &- lastStoreNanos >= storeIntervalNanos else { return }
        lastStoreNanos = now
        let moved = Self.takeMoved(&partitions, ids: nil)
        if !moved.isEmpty { actions.append(.storeOffsets(moved)) }
    }

    mutating func revoking(_ partitions: inout [Int32: PartitionState], ids: [Int32], into actions: inout [EngineAction]) {
        // Committed without waiting: the callback must not block on a coordinator that may be unreachable. If the
        // commit is lost, the new owner repeats the uncommitted tail (duplicates, never a gap).
        let watermarks = ids.sorted().compactMap { id in
            partitions[id]?.progress.committableOffset.map { PartitionOffset(partition: id, offset: $0) }
        }
        if !watermarks.isEmpty { actions.append(.commitOffsets(watermarks)) }
    }

    mutating func losing(ids: [Int32], into actions: inout [EngineAction]) {}

    mutating func finishing(_ partitions: inout [Int32: PartitionState], into actions: inout [EngineAction]) {
        let moved = Self.takeMoved(&partitions, ids: nil)
        if !moved.isEmpty { actions.append(.storeOffsets(moved)) }
    }

    mutating func transactionCommitted(_ result: TransactionResult, into actions: inout [EngineAction]) {}

    mutating func transactionAborted() -> [Int32: Int64] { [:] }

    /// The watermarks that moved since they were last taken, in partition order.
    private static func takeMoved(_ partitions: inout [Int32: PartitionState], ids: [Int32]?) -> [PartitionOffset] {
        var moved: [PartitionOffset] = []
        partitions.forEachInPlace { id, state in
            if let offset = state.progress.takeDirty() { moved.append(PartitionOffset(partition: id, offset: offset)) }
        }
        moved.sort { $0.partition < $1.partition }
        return moved
    }
}

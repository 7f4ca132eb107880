/// Exactly-once: outputs and the input positions that produced them are committed in one Kafka transaction.
/// A failed output, a failed commit that requires it, or a lost assignment aborts the transaction; its
/// partitions are then rewound to their committed offsets and their state rebuilt, as after a restart.
struct ExactlyOnceCommits: CommitStrategy {
    let maxRecords: Int
    let maxAgeNanos: UInt64
    /// The open transaction, if any.
    private(set) var transaction: OpenTransaction?

    struct OpenTransaction: Equatable, Sendable {
        var startedNanos: UInt64
        var records = 0
        /// Next input offset per partition consumed in it: committed with it.
        var positions: [Int32: Int64] = [:]
        /// The first offset admitted per partition: where an abort rewinds to when no committed offset can be
        /// read (the look-up failed) or none exists (the transaction began at `auto.offset.reset`'s position).
        var firstOffsets: [Int32: Int64] = [:]
        /// It must abort (a delivery inside it failed, librdkafka asked for an abort, or its partitions were
        /// lost); an abort that timed out is asked for again at the next tick.
        var failed = false
        /// Its commit was started and timed out: librdkafka goes on with it in the background and the next tick
        /// resumes it — with the same positions, so no record joins it meanwhile.
        var committing = false
        /// An abort of it timed out: librdkafka goes on with it and the next tick resumes it.
        var abortTimedOut = false
    }

    init(maxRecords: Int, maxAgeMillis: Int) {
        self.maxRecords = max(1, maxRecords)
        self.maxAgeNanos = UInt64(max(1, maxAgeMillis)) * 1_000_000
    }

    var retriesFailedOutputs: Bool { false }
    var allowsHandlingAhead: Bool { false }
    var readsOutputMetadataAtStart: Bool { false }

    var wantsPromptTick: Bool { transaction != nil }

    /// A transaction being committed or aborted takes no more records: a produce into it would fail (librdkafka
    /// refuses messages once its commit began), and records of a doomed one would only be read again.
    var holdsRecords: Bool { transaction.map { $0.committing || $0.failed } ?? false }

    /// A commit or abort that timed out can take a while to settle: fetching pauses meanwhile, so the records
    /// polled (kept in the driver's backlog) stay within what librdkafka had prefetched.
    var pausesFetching: Bool { transaction.map { $0.committing || $0.abortTimedOut } ?? false }

    mutating func abortTimedOut() {
        transaction?.abortTimedOut = true
    }

    mutating func admitted(partition: Int32, offset: Int64, now: UInt64) -> Bool {
        let begin = transaction == nil
        if begin { transaction = OpenTransaction(startedNanos: now) }
        if transaction?.positions.updateValue(offset + 1, forKey: partition) == nil {
            transaction?.firstOffsets[partition] = offset
        }
        transaction?.records += 1
        return begin
    }

    mutating func outputFailed() {
        transaction?.failed = true
    }

    mutating func tick(now: UInt64, idle: Bool, partitions: inout [Int32: PartitionState], into actions: inout [EngineAction]) {
        guard let transaction else { return }
        if transaction.committing || transaction.failed {
            actions.append(Self.settle(transaction))
        } else if idle || transaction.records >= maxRecords || now &- transaction.startedNanos >= maxAgeNanos {
            actions.append(.commitTransaction(Self.sorted(transaction.positions)))
        }
    }

    /// How a transaction that must end ends. A commit under way is resumed even when the transaction has failed
    /// since: librdkafka refuses an abort while its commit call is pending (`__CONFLICT`, for ever), and the
    /// resumed commit itself reports the failure (an abortable error) — the abort comes after it.
    private static func settle(_ transaction: OpenTransaction) -> EngineAction {
        transaction.failed && !transaction.committing ? .abortTransaction : .commitTransaction(sorted(transaction.positions))
    }

    mutating func revoking(_ partitions: inout [Int32: PartitionState], ids: [Int32], into actions: inout [EngineAction]) {
        // The transaction holds positions of the revoked partitions: settle it before they move to a new owner.
        guard let transaction else { return }
        actions.append(Self.settle(transaction))
        forget(ids)
    }

    mutating func losing(ids: [Int32], into actions: inout [EngineAction]) {
        // The group moved on: offsets of this generation cannot be committed; the new owner reads them again.
        guard transaction != nil else { return }
        transaction?.failed = true
        if let transaction { actions.append(Self.settle(transaction)) }
        forget(ids)
    }

    /// Partitions leaving the assignment: if the transaction outlives this (its commit or abort timed out), its
    /// end must not rewind them — they may be assigned again meanwhile, from offsets looked up afresh.
    private mutating func forget(_ ids: [Int32]) {
        for id in ids { transaction?.firstOffsets[id] = nil }
    }

    mutating func finishing(_ partitions: inout [Int32: PartitionState], into actions: inout [EngineAction]) {
        guard let transaction else { return }
        actions.append(Self.settle(transaction))
    }

    mutating func transactionCommitted(_ result: TransactionResult, into actions: inout [EngineAction]) {
        switch result {
        case .committed: transaction = nil
        case .retriable: transaction?.committing = true  // the next tick resumes the commit
        case .abortRequired:
            // The commit call is over (librdkafka's pending-call slot is free): the abort can go now.
            transaction?.committing = false
            transaction?.failed = true
            actions.append(.abortTransaction)
        }
    }

    mutating func transactionAborted() -> [Int32: Int64] {
        let partitions = transaction?.firstOffsets ?? [:]
        transaction = nil
        return partitions
    }

    private static func sorted(_ positions: [Int32: Int64]) -> [PartitionOffset] {
        positions.map { PartitionOffset(partition: $0.key, offset: $0.value) }.sorted { $0.partition < $1.partition }
    }
}

/// How input offsets are tied to outputs: the one place where at-least-once and exactly-once differ.
///
/// The engine calls the strategy at the same points in both modes; each implementation answers with the
/// actions its guarantee needs. No other part of the engine asks which mode it runs in.
protocol CommitStrategy: Sendable {
    /// Whether a failed output is kept and produced again (at-least-once), or fails the open transaction
    /// (exactly-once: the transaction aborts and its inputs are read again).
    var retriesFailedOutputs: Bool { get }

    /// Whether inputs may be admitted ahead of the outputs of earlier ones being produced (a handler stage
    /// deciding the next batch while the loop produces the last). Exactly-once cannot: a transaction committed
    /// at a tick must hold the outputs of every input admitted into it.
    var allowsHandlingAhead: Bool { get }

    /// Whether the producer reads its output topics' metadata before the first record (``EngineDriver``'s
    /// start-up look-up). Exactly-once keeps librdkafka's lazy look-up for now: with the look-up, the kill -9
    /// suite on noida-db found the final instance's outputs missing in 4 of 30 runs, cause not yet understood
    /// (docs/PERFORMANCE.md, "Session 7").
    var readsOutputMetadataAtStart: Bool { get }

    /// Whether the loop should tick again soon even when idle (an open transaction commits when the input goes
    /// idle).
    var wantsPromptTick: Bool { get }

    /// Whether admitting records must wait (exactly-once: while the open transaction is being committed or must
    /// abort).
    var holdsRecords: Bool { get }

    /// Whether fetching must pause for it (exactly-once: while a commit or abort that timed out is resumed).
    var pausesFetching: Bool { get }

    /// Exactly-once: the ``EngineAction/abortTransaction`` timed out; the next tick asks for it again.
    mutating func abortTimedOut()

    /// An input record of `partition` at `offset` is about to be handled; returns whether a transaction must be
    /// opened first.
    mutating func admitted(partition: Int32, offset: Int64, now: UInt64) -> Bool

    /// An output failed and is not retried, or an input's outputs cannot all be produced before the transaction
    /// ends: exactly-once must not commit (at-least-once never stores an input that did not complete).
    mutating func outputFailed()

    /// Regular work once per loop pass: store watermarks, commit a transaction that is due.
    mutating func tick(now: UInt64, idle: Bool, partitions: inout [Int32: PartitionState], into actions: inout [EngineAction])

    /// `partitions` are being revoked (not lost): what must be committed before they go.
    mutating func revoking(_ partitions: inout [Int32: PartitionState], ids: [Int32], into actions: inout [EngineAction])

    /// `ids` were lost (session timed out): nothing of theirs can be committed any more.
    mutating func losing(ids: [Int32], into actions: inout [EngineAction])

    /// Shutdown after the outputs were flushed: the last offsets or the last transaction.
    mutating func finishing(_ partitions: inout [Int32: PartitionState], into actions: inout [EngineAction])

    /// The result of a ``EngineAction/commitTransaction(_:)``.
    mutating func transactionCommitted(_ result: TransactionResult, into actions: inout [EngineAction])

    /// The open transaction was aborted; returns the partitions whose inputs must be read again, each with the
    /// first offset the transaction admitted there (where reading starts again when no committed offset says).
    mutating func transactionAborted() -> [Int32: Int64]
}

/// How outputs and input offsets are tied together.
public enum ProcessingGuarantee: Sendable, Equatable {
    /// Offsets are committed after the outputs are acknowledged; a crash repeats at most the uncommitted tail.
    case atLeastOnce
    /// Outputs and input offsets are committed in one Kafka transaction: a `read_committed` reader sees every
    /// output exactly once, even across crashes.
    case exactlyOnce(ExactlyOnceOptions)
}

/// Transaction settings of the exactly-once mode.
public struct ExactlyOnceOptions: Sendable, Equatable {
    /// Stable per instance, so a restarted instance fences its predecessor's open transaction.
    public var transactionalId: String
    /// A transaction is committed after this many input records…
    public var maxRecordsPerTransaction: Int
    /// …or after this long, whichever comes first.
    public var maxTransactionMillis: Int

    public init(transactionalId: String, maxRecordsPerTransaction: Int = 5000, maxTransactionMillis: Int = 100) {
        self.transactionalId = transactionalId
        self.maxRecordsPerTransaction = maxRecordsPerTransaction
        self.maxTransactionMillis = maxTransactionMillis
    }
}

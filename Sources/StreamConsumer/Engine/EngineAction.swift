/// A partition and an offset: the next offset to read, store or commit.
struct PartitionOffset: Equatable, Sendable, CustomStringConvertible {
    var partition: Int32
    var offset: Int64

    var description: String { "\(partition)@\(offset)" }

    /// librdkafka's logical offsets (`RD_KAFKA_OFFSET_BEGINNING`, `RD_KAFKA_OFFSET_END`): the log's start, and its
    /// end (for ListOffsets, the latest offset).
    static let beginning: Int64 = -2
    static let end: Int64 = -1
}

/// What the engine asks the Kafka layer to do. The engine decides; the layer (``StreamProcessor``) only executes,
/// and feeds what happened back as events.
enum EngineAction: Equatable, Sendable {
    /// Stop fetching these partitions (newly assigned ones, back-pressure, shutdown).
    case pause([Int32])
    /// Fetch these partitions again.
    case resume([Int32])
    /// Read the group's committed offsets of these partitions and report them with
    /// ``DeliveryEngine/committedOffsets(_:now:)``; done from the processing loop, never inside a callback.
    case lookUpCommitted([Int32])
    /// Move the consumer's position (exactly-once rewind after an aborted transaction).
    case seek([PartitionOffset])
    /// These partitions should be delivering and have been silent for the fetch watch's window: move fetching to
    /// the offset given (the next to handle, or the logical `auto.offset.reset` offset), waiting for librdkafka
    /// to confirm, and resume them in case librdkafka's pause flag disagrees with the engine's.
    case restartFetch([PartitionOffset])
    /// These partitions have no working fetcher (``FetcherRepair`` says how that was seen): revoke and assign them
    /// again through the rebalance path (the driver's `assignAgain`), the one way to give a partition a new
    /// fetcher in librdkafka.
    case assignAgain([Int32], FetcherRepair)
    /// These partitions are at their end and have been silent for the fetch watch's window: read where their
    /// logs end now and report with ``DeliveryEngine/endsLookedUp(_:now:)``.
    case lookUpEnds([Int32])
    /// The handler forgets the per-key state of these partitions (it is rebuilt, or belongs to another member).
    case resetState([Int32])
    /// Replay the records before `before` into the handler's state, a slice per loop pass; report the end with
    /// ``DeliveryEngine/rebuildFinished(partition:now:)``.
    case rebuild(partition: Int32, before: Int64)
    /// Produce a failed output again (its bytes are kept by the Kafka layer under `slot`).
    case produceAgain(slot: Int)
    /// Forget a kept output: its partition is gone, the new owner reprocesses the input.
    case dropRetry(slot: Int)
    /// At-least-once: hand these watermarks to librdkafka's offset store (auto-commit sends them).
    case storeOffsets([PartitionOffset])
    /// At-least-once: commit these watermarks now, without waiting for the answer (revoked partitions).
    case commitOffsets([PartitionOffset])
    /// Exactly-once: send these input positions with the open transaction and commit it; report the result with
    /// ``DeliveryEngine/transactionCommitted(_:now:)``.
    case commitTransaction([PartitionOffset])
    /// Exactly-once: abort the open transaction; report with ``DeliveryEngine/transactionAborted(now:)``.
    case abortTransaction
    /// Fetching as a whole was paused (`true`) or resumed for back-pressure (for the observer and the log).
    case backPressure(Bool)
}

/// How the fetch watch saw that partitions have no working fetcher (``EngineAction/assignAgain(_:_:)``).
enum FetcherRepair: Equatable, Sendable {
    /// A restart's seek failed with `Local: Erroneous state`: librdkafka has no fetcher for them (proof at once).
    case seekFoundNoFetcher
    /// They stayed silent through their restarts and their leaders said records wait past their positions (a
    /// fetcher left detached: seeks succeed, nothing comes).
    case silentThroughRestarts
}

/// Where one admitted input record stands in the engine: handed back when its outputs are created.
struct InputTicket: Equatable, Sendable {
    var partition: Int32
    var generation: UInt32
    var sequence: Int
}

/// The engine's answer to a fetched record.
enum FetchDecision: Equatable, Sendable {
    /// Handle it; with `beginTransaction`, open a transaction first (exactly-once).
    case handle(InputTicket, beginTransaction: Bool)
    /// Do not handle it: its partition is not (or no longer) ours, or is still rebuilding, or the engine stops.
    case discard
}

/// The result of one delivery report as the engine sees it.
enum DeliveryResult: Equatable, Sendable {
    case delivered
    /// A failure that a new produce can fix (broker down, leader moved, timeout).
    case failed
    /// The output was purged at shutdown: not delivered and not to be retried.
    case purged

    /// A produce call the producer refused. Only a stop gives up on an output (its input is read again after the
    /// restart); otherwise — a full queue past a revoke's flush deadline included — it is kept and produced again
    /// after a back-off. (Giving up there dropped outputs of partitions a cooperative revoke leaves assigned:
    /// their inputs never completed, so those partitions' offsets stopped moving for good.)
    static func refusedProduce(queueFull: Bool, stopping: Bool) -> DeliveryResult {
        queueFull && stopping ? .purged : .failed
    }
}

/// What the engine decided about a delivery report.
enum DeliveryDecision: Equatable, Sendable {
    /// Acknowledged: counted, and its input completes once all its outputs are.
    case acknowledged(OutputRecord)
    /// Keep its bytes and produce it again when ``EngineAction/produceAgain(slot:)`` says.
    case retry(OutputRecord)
    /// Failed and not retried (exactly-once aborts its transaction; a purged output's input is read again).
    case dropped(OutputRecord)
    /// No such output in flight (already settled): nothing to do.
    case unknown
}

/// The result of committing a transaction.
enum TransactionResult: Equatable, Sendable {
    case committed
    /// The commit can be tried again as is.
    case retriable
    /// The transaction must be aborted and its inputs processed again.
    case abortRequired
}

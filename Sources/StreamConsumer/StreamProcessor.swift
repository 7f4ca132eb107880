import Crdkafka
import Logging

/// The consume → process → produce engine on librdkafka, at-least-once or exactly-once.
///
/// One thread runs ``run()``. The decisions (which offsets may be committed, what is retried, when fetching
/// pauses, what a rebalance does to state) are made by the I/O-free ``DeliveryEngine``; this class creates the
/// librdkafka clients and runs the loop that feeds the engine and executes its actions. An input offset is
/// committed only after every output of it (prediction or dead letter) was acknowledged, and so was every
/// output of the inputs before it on the same partition: nothing is lost, only an uncommitted tail can repeat.
public final class StreamProcessor: Sendable {
    private let loop: any ProcessingLoop
    private let stop = StopSignal()
    private let board: PositionBoard

    /// Creates the consumer and producer clients (no network traffic yet).
    ///
    /// - Throws: ``ConfigurationError`` for a property librdkafka rejects, ``KafkaError`` when a client cannot be
    ///   created.
    public init(
        settings: KafkaSettings,
        bootstrapServers: String,
        options: StreamProcessorOptions,
        handler: any RecordHandler,
        observer: any StreamObserver,
        logger: Logger
    ) throws {
        let clients = try KafkaClients(
            settings: settings, bootstrapServers: bootstrapServers, guarantee: options.guarantee, observer: observer
        )
        let groupProperties: Set<String> = ["group.id", "group.instance.id", "enable.auto.commit", "enable.auto.offset.store"]
        let readerProperties = (settings.commonProperties + settings.consumerProperties).filter { !groupProperties.contains($0.name) }
        let input = options.topics.input
        let rebuilder = StateRebuilder(
            maxRecords: options.stateRebuildMaxRecords, timeoutSeconds: options.stateRebuildTimeoutSeconds, logger: logger
        ) {
            try TopicReader(bootstrapServers: bootstrapServers, topic: input, properties: readerProperties)
        }
        let board = PositionBoard(topic: input, consumer: clients.consumer, startsAtLogStart: settings.logicalStartOffset == PartitionOffset.beginning)
        self.board = board
        let engineOptions = EngineOptions(
            maxInflight: options.maxInflight,
            retryInitialNanos: options.retryBackoffNanos.initial,
            retryMaximumNanos: options.retryBackoffNanos.maximum,
            rebuildEnabled: options.stateRebuildMaxRecords > 0,
            fetchStallNanos: options.fetchStallNanos,
            offsetWhenNothingCommitted: settings.logicalStartOffset
        )
        let stop = self.stop
        switch options.guarantee {
        case .atLeastOnce:
            let driver = EngineDriver(
                clients: clients, engine: DeliveryEngine(options: engineOptions, commits: AtLeastOnceCommits()),
                handler: handler, observer: observer, logger: logger, options: options, stop: stop, board: board,
                rebuilder: rebuilder
            )
            clients.target.attach(driver)
            loop = driver
        case .exactlyOnce(let eos):
            let commits = ExactlyOnceCommits(maxRecords: eos.maxRecordsPerTransaction, maxAgeMillis: eos.maxTransactionMillis)
            let driver = EngineDriver(
                clients: clients, engine: DeliveryEngine(options: engineOptions, commits: commits),
                handler: handler, observer: observer, logger: logger, options: options, stop: stop, board: board,
                rebuilder: rebuilder
            )
            clients.target.attach(driver)
            loop = TransactionalLoop(transactionalId: eos.transactionalId, logger: logger, driver: driver)
        }
    }

    /// Asks ``run()`` to finish: it stops fetching, flushes the producer, commits and leaves the group.
    /// Safe to call from any thread.
    public func requestStop() {
        stop.request()
    }

    /// Runs the loop on the calling thread until ``requestStop()`` or a fatal client error.
    public func run() throws(KafkaError) {
        try loop.run()
    }

    /// Where the consumer stands now (lag per assigned partition); safe to call from any thread at any time.
    public func currentPosition() -> ConsumerPosition {
        board.read()
    }
}

/// A loop that runs once on one thread.
protocol ProcessingLoop: AnyObject, Sendable {
    func run() throws(KafkaError)
}

/// Unchecked: the driver's state is confined to the one thread that calls ``run()`` (checked there: a second run
/// throws), and librdkafka serves its callbacks on that thread.
extension EngineDriver: @unchecked Sendable, ProcessingLoop {}

/// Exactly-once: initialises the transactional producer before the loop starts.
final class TransactionalLoop<Commits: CommitStrategy>: ProcessingLoop, @unchecked Sendable {
    // Unchecked: wraps a driver that is itself confined to the thread that calls run().
    private let transactionalId: String
    private let logger: Logger
    private let driver: EngineDriver<Commits>

    init(transactionalId: String, logger: Logger, driver: EngineDriver<Commits>) {
        self.transactionalId = transactionalId
        self.logger = logger
        self.driver = driver
    }

    func run() throws(KafkaError) {
        try Transactions.initialize(driver.producer, transactionalId: transactionalId)
        logger.info("exactly-once mode: transactions initialised", metadata: ["transactional_id": "\(transactionalId)"])
        try driver.run()
    }
}

import Crdkafka
import Foundation
import Logging
import Synchronization

/// A stop request, settable from any thread.
final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)
    func request() { requested.store(true, ordering: .releasing) }
    var isRequested: Bool { requested.load(ordering: .acquiring) }
}

/// Runs the ``DeliveryEngine`` on librdkafka: polls both clients, feeds the engine their events and executes
/// its actions. All of it runs on the one thread that calls ``run()``; librdkafka serves the callbacks there too
/// (inside the poll calls), so the engine needs no lock.
final class EngineDriver<Commits: CommitStrategy>: KafkaEventSink {
    let clients: KafkaClients
    var engine: DeliveryEngine<Commits>
    let handler: any RecordHandler
    let observer: any StreamObserver
    let logger: Logger
    let options: StreamProcessorOptions
    let stop: StopSignal
    let board: PositionBoard
    let rebuilder: StateRebuilder
    let outputTopic: OwnedCString
    let deadLetterTopic: OwnedCString
    /// ``StreamTopics/extra``, by ``ExtraTopic`` index.
    let extraTopics: [OwnedCString]
    /// Reused for every record's further outputs.
    var extraOutputs = ExtraOutputs()
    /// The handler's own thread (``StreamProcessorOptions/handlerThread``, at-least-once), from `run()` on;
    /// `nil`: records are handled one by one on this thread.
    var stage: HandlerStage?
    /// Watermarks the state rebuild's reader saw and log ends looked up (``refreshLogEnds(now:)``), for
    /// ``publishPosition(force:)``.
    var knownWatermarks: [Int32: PositionBoard.Watermarks] = [:]
    /// When ``refreshLogEnds(now:)`` last asked.
    var lastLogEndsNanos: UInt64 = 0
    /// Looks up partitions' log ends off the loop, from `run()` until ``shutdown()``.
    var logEndProbe: LogEndProbe?
    /// The last look-up left some partitions' ends unread (logged once per run of failures).
    var logEndsFailing = false
    /// With a stage: the records admitted in this loop pass, and the decided batch whose outputs are produced.
    var collecting = RecordBatch(id: 0)
    var finishing = RecordBatch(id: 1)
    /// The handler's ``RecordHandler/preparesRecords``, read once.
    let preparesRecords: Bool
    var finishingInProgress = false
    /// Rebalance callbacks being served (librdkafka calls them from inside consumer polls).
    var callbackDepth = 0
    /// Set while the pipeline is emptied inside a revoke: a full producer queue is waited for until then only.
    var produceDeadlineNanos: UInt64?
    /// Exactly-once: the open transaction's offsets were sent by a commit attempt that then timed out; the next
    /// attempt resumes the commit alone.
    var transactionOffsetsSent = false
    /// The consumer is polled while one input's outputs are only partly produced (a full producer queue).
    var midInput = false

    /// Fetched records not handled yet (back-pressure, or served while waiting for the producer), in order.
    var backlog: [UnsafeMutablePointer<rd_kafka_message_t>] = []
    var backlogHead = 0
    /// Bytes of failed outputs, by slot, until the engine says to produce them again or drop them.
    var retries: [Int: PendingRetry] = [:]
    var outputBuffer: [UInt8] = []
    var catchUp = CatchUpTracker()
    var caughtUpReported = false
    var reportedInflight = 0
    var reachability = BrokerReachability()
    /// `nil` until anything is known.
    var brokerReachable: Bool? { reachability.isReachable }
    var fatalClientError: KafkaError?
    var lastPublishNanos: UInt64 = 0
    /// Partitions a fetch restart found without a fetcher, or that restarts did not bring back
    /// (``EngineAction/assignAgain(_:_:)``), repaired after the pass's poll (``repairFetchers()``).
    var fetchRepairs: Set<Int32> = []
    /// ``StreamProcessorOptions/fetchFault`` was applied (once).
    var fetchFaultInjected = false
    private let started = Atomic<Bool>(false)

    var consumer: OpaquePointer { clients.consumer }
    var producer: OpaquePointer { clients.producer }

    init(
        clients: KafkaClients, engine: DeliveryEngine<Commits>, handler: any RecordHandler, observer: any StreamObserver,
        logger: Logger, options: StreamProcessorOptions, stop: StopSignal, board: PositionBoard, rebuilder: StateRebuilder
    ) {
        self.clients = clients
        self.engine = engine
        self.handler = handler
        self.observer = observer
        self.logger = logger
        self.options = options
        self.stop = stop
        self.board = board
        self.rebuilder = rebuilder
        self.outputTopic = OwnedCString(options.topics.output)
        self.deadLetterTopic = OwnedCString(options.topics.deadLetter)
        self.extraTopics = options.topics.extra.map { OwnedCString($0) }
        self.preparesRecords = handler.preparesRecords
    }

    /// Records handled before the loop serves delivery reports, retries and offsets again.
    static var batchLimit: Int { 512 }

    /// When batches go to the stage and come back. The lead is as large as a prepared batch, so the loop decodes
    /// every record it collects: 4,096, about as fast as 8,192 for half its memory (peak RSS +15 MiB against
    /// +27 MiB over waiting every pass, on the 300k-record catch-up; docs/PERFORMANCE.md, session 13).
    static var handOff: PipelineHandOff { PipelineHandOff(minimum: 64, leadLimit: PreparedSlot.capacity) }

    /// Runs the loop until a stop request or a fatal client error, then shuts down (flush, commit, leave).
    // The loop runs behind an existential (`any ProcessingLoop`) and librdkafka's callbacks reach it through
    // `KafkaEventSink`, so without these the hot path would run the generic code: every engine call through
    // witness tables and the engine's layout looked up at run time (measured: generic-metadata look-ups on
    // every record). Each generic entry point dispatches to its specialised body.
    @_specialize(exported: false, where Commits == AtLeastOnceCommits)
    @_specialize(exported: false, where Commits == ExactlyOnceCommits)
    func run() throws(KafkaError) {
        // The driver's state is confined to the thread that runs it: a second run (from any thread) is refused.
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged,
            !clients.isDestroyed
        else {
            throw KafkaError(operation: "run the stream processor", message: "it has already run; create a new one")
        }
        try subscribe()
        startLogEndProbe()
        // While the consumer joins its group.
        if engine.commits.readsOutputMetadataAtStart { readOutputMetadata() }
        if options.handlerThread, engine.commits.allowsHandlingAhead {
            let signal = clients.wakeup?.signal
            stage = HandlerStage(handler: handler, spare: RecordBatch(id: 2)) { signal?() }
        }
        logger.info("consuming", metadata: [
            "input": "\(options.topics.input)", "output": "\(options.topics.output)",
            "dead_letter": "\(options.topics.deadLetter)",
        ])
        var idle = false
        while !stop.isRequested, fatalClientError == nil {
            // Every pass proves liveness: with brokers down, fetching paused or a rebuild running, the loop still
            // turns, and no call inside a pass blocks for long.
            observer.heartbeat()
            rd_kafka_poll(producer, 0)
            let passStart = Clock.monotonicNanos()
            execute(engine.tick(now: passStart, idle: idle))
            watchFetching(now: passStart)
            refreshLogEnds(now: passStart)
            var handled = 0
            var drained = false
            while handled < Self.batchLimit, engine.acceptsRecords(pending: pipelineHeld), fatalClientError == nil {
                guard let message = nextMessage() else {
                    drained = true
                    break
                }
                if stage != nil {
                    collect(message)
                    // The stage is free: hand it what is collected now rather than at the end of the pass, so
                    // it does not wait while the rest of the pass is decoded. Or the loop is as far ahead as it
                    // may go: wait for the stage.
                    if Self.handOff.advancesAfterCollecting(collected: collecting.count, stageReady: stage?.isReady == true) {
                        advancePipeline()
                    }
                } else {
                    process(message)
                }
                handled += 1
            }
            repairFetchers()
            if stage != nil {
                // Emptied before the loop pauses or stops. When it is about to sleep, the stage's end of a batch
                // wakes it (the wake-up pipe): no output waits for the next record, and the stage keeps working
                // meanwhile. Without that pipe the loop sleeps in a poll the stage cannot wake, so it empties first.
                let mustEmpty = !engine.acceptsRecords || stop.isRequested || fatalClientError != nil
                let passStop: PipelineHandOff.PassStop = drained ? .drained : handled >= Self.batchLimit ? .full : .heldBack
                switch Self.handOff.atPassEnd(
                    mustEmpty: mustEmpty, stop: passStop, canBeWoken: clients.wakeup != nil, stageReady: stage?.isReady == true)
                {
                case .empty: completePipeline()
                case .advance: advancePipeline()
                case .carryOn: break
                }
            }
            if !engine.acceptsRecords { keepConsumerAlive() }
            rd_kafka_poll(producer, 0)
            let rebuilding = stepRebuild()
            reportInflight()
            if handled == 0, engine.inflightCount == 0, pipelineIsEmpty { reportCaughtUpIfIdle() }
            publishPosition(force: false)
            idle = handled == 0
            if !rebuilding, drained || !engine.acceptsRecords {
                waitForWork(timeoutMs: engine.acceptsRecords ? idleWaitMs() : min(20, idleWaitMs()))
            }
        }
        shutdown()
        if let fatalClientError { throw fatalClientError }
    }

    /// Sleeps until either client has something to serve, at most `timeoutMs`.
    private func waitForWork(timeoutMs: Int32) {
        if let wakeup = clients.wakeup {
            wakeup.wait(timeoutMs: timeoutMs)
        } else if engine.inflightCount > 0 {
            rd_kafka_poll(producer, min(timeoutMs, 2))
        } else if let message = rd_kafka_consumer_poll(consumer, timeoutMs) {
            backlog.append(message)
        }
    }

    /// How long an idle loop may sleep: long enough not to spin, short enough to notice a stop request, a due
    /// retry or a transaction that is due.
    private func idleWaitMs() -> Int32 {
        engine.retrySlots.isEmpty && !engine.commits.wantsPromptTick ? 100 : 10
    }

    private func subscribe() throws(KafkaError) {
        let list = PartitionList(topic: options.topics.input, partitions: [RD_KAFKA_PARTITION_UA])
        let error = list.withPointer { rd_kafka_subscribe(consumer, $0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "subscribe to \(options.topics.input)", error: error)
        }
    }

    func nextMessage() -> UnsafeMutablePointer<rd_kafka_message_t>? {
        if backlogHead < backlog.count {
            let message = backlog[backlogHead]
            backlogHead += 1
            if backlogHead == backlog.count {
                backlog.removeAll(keepingCapacity: true)
                backlogHead = 0
            }
            return message
        }
        return rd_kafka_consumer_poll(consumer, 0)
    }

    /// Serves the consumer's callbacks (rebalance, commits, heartbeats) while records are not being handled;
    /// records already fetched wait in the backlog, in order.
    func keepConsumerAlive() {
        while let message = rd_kafka_consumer_poll(consumer, 0) {
            backlog.append(message)
        }
    }

    func dropBacklog(for partitions: Set<Int32>) {
        guard backlogHead < backlog.count, !partitions.isEmpty else { return }
        var kept: [UnsafeMutablePointer<rd_kafka_message_t>] = []
        for message in backlog[backlogHead...] {
            if partitions.contains(message.pointee.partition) {
                rd_kafka_message_destroy(message)
            } else {
                kept.append(message)
            }
        }
        backlog = kept
        backlogHead = 0
    }

    func drainBacklog() {
        for message in backlog[backlogHead...] { rd_kafka_message_destroy(message) }
        backlog.removeAll()
        backlogHead = 0
    }

    // MARK: - Health signals

    /// Tells the observer the in-flight count once per loop pass (not per record) when it changed.
    private func reportInflight() {
        guard engine.inflightCount != reportedInflight else { return }
        reportedInflight = engine.inflightCount
        observer.inflightChanged(reportedInflight)
    }

    /// Catch-ups of at least this many records are logged at info level.
    static var catchUpLogMinimumRecords: Int { 1000 }

    private func reportCaughtUpIfIdle() {
        guard !caughtUpReported, !engine.partitions.isEmpty, backlogHead >= backlog.count else { return }
        guard engine.partitions.values.allSatisfy({ $0.atEnd && $0.phase == .active }) else { return }
        caughtUpReported = true
        let summary = catchUp.finish()
        // A backlog worth naming (after a restart, an outage, a burst) is logged at info; the idle points of a
        // live stream, a few records apart, only at debug.
        logger.log(level: summary.records >= Self.catchUpLogMinimumRecords ? .info : .debug, "caught up", metadata: [
            "records": "\(summary.records)",
            "seconds": "\(String(format: "%.3f", summary.seconds))",
            "records_per_second": "\(String(format: "%.0f", summary.recordsPerSecond))",
            "cpu_seconds": "\(String(format: "%.2f", summary.cpuSeconds))",
        ])
        observer.caughtUp(summary)
    }

    /// Publishes the engine's positions for the metrics scrape, at most every 100 ms.
    func publishPosition(force: Bool) {
        let now = Clock.monotonicNanos()
        guard force || now &- lastPublishNanos >= 100_000_000 else { return }
        lastPublishNanos = now
        var entries: [Int32: PositionBoard.Entry] = [:]
        var lastHandled: [Int32: Double] = [:]
        let wallNow = Clock.wallSeconds()
        for (id, state) in engine.partitions {
            entries[id] = PositionBoard.Entry(
                position: state.position, committable: state.progress.committableOffset, awaitingCommitted: state.awaitsCommitted,
                assignedAt: wallNow - Double(now &- min(state.assignedNanos, now)) / 1e9
            )
            if let timestamp = state.lastHandledTimestamp { lastHandled[id] = timestamp }
        }
        // What the rebuild's reader fetched (the consumer itself has fetched nothing yet from partitions paused
        // for their rebuild) and where the logs of partitions not being fetched end (``refreshLogEnds(now:)``). The highest
        // seen is kept while the partition stays assigned: a log's end only grows, so an older one is still a
        // floor, and the scrape takes the consumer's own where it is higher.
        for (id, seen) in rebuilder.cachedWatermarks() { learnWatermarks(of: id, low: seen.low, high: seen.high) }
        let partitions = engine.partitions
        if knownWatermarks.keys.contains(where: { partitions[$0] == nil }) {
            knownWatermarks = knownWatermarks.filter { partitions[$0.key] != nil }
        }
        var oldest: Double?
        if backlogHead < backlog.count {
            oldest = KafkaMessage.timestampMs(backlog[backlogHead]).map { Double($0) / 1000 }
        }
        board.publish(entries: entries, lastHandled: lastHandled, oldestFetched: oldest, known: knownWatermarks)
    }

    /// Keeps the highest start and end seen for partition `id` (`low` nil: not read this time): an answer that
    /// started before another one's cannot move them back.
    func learnWatermarks(of id: Int32, low: Int64?, high: Int64) {
        knownWatermarks[id] = PositionBoard.Watermarks(low: low ?? -1, high: high).merged(with: knownWatermarks[id])
    }

    /// Tells ``BrokerReachability`` what the loop just heard, and the observer (readiness) when that changes it.
    func observeBrokers(_ evidence: BrokerReachability.Evidence) {
        guard let changed = reachability.observe(evidence, now: Clock.monotonicNanos()) else { return }
        observer.brokerReachability(changed)
    }

    func clientError(_ error: rd_kafka_resp_err_t, reason: String, client: OpaquePointer?) {
        if error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
            observeBrokers(.allBrokersDown)
        }
        if error == RD_KAFKA_RESP_ERR__FATAL, let client {
            let (code, detail) = withErrorText { rd_kafka_fatal_error(client, $0, $1) }
            fatalClientError = KafkaError(operation: "Kafka client", code: code.rawValue, message: detail)
            observer.kafkaError("fatal: \(detail)", fatal: true)
            return
        }
        observer.kafkaError(reason, fatal: false)
    }

    func offsetCommitResult(_ error: rd_kafka_resp_err_t) {
        switch error {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            observer.offsetsCommitted(success: true, error: nil)
        case RD_KAFKA_RESP_ERR__NO_OFFSET:
            break  // nothing new to commit
        default:
            observer.offsetsCommitted(success: false, error: KafkaError.text(error))
        }
    }
}

import Crdkafka
import Foundation
import Logging
import Synchronization

/// The topics one processor reads and writes.
public struct StreamTopics: Sendable, Equatable {
    public var input: String
    public var output: String
    public var deadLetter: String

    public init(input: String = "ticks.features", output: String = "ticks.predictions", deadLetter: String = "ticks.features.dlq") {
        self.input = input
        self.output = output
        self.deadLetter = deadLetter
    }
}

/// Tunables of the consume → handle → produce loop.
public struct StreamProcessorOptions: Sendable {
    public var topics: StreamTopics
    /// Outputs handed to the producer and not yet acknowledged before fetching is paused (bounded memory).
    public var maxInflight: Int
    /// How long shutdown waits for outstanding deliveries before closing.
    public var shutdownFlushTimeoutMs: Int32
    /// First and largest back-off between attempts to re-produce an output whose delivery failed.
    public var retryBackoffNanos: (initial: UInt64, maximum: UInt64)
    /// How many records before a partition's committed offset are replayed into the handler's state after an
    /// assignment (0 turns the rebuild off).
    public var stateRebuildMaxRecords: Int
    /// Longest time one partition's rebuild may take before processing goes on without the rest of it.
    public var stateRebuildTimeoutSeconds: Double
    /// How long shutdown waits for the consumer to leave its group before exiting without a clean group exit.
    public var consumerCloseTimeoutSeconds: Double = 10
    /// At-least-once (offsets stored after delivery) or exactly-once (Kafka transactions).
    public var guarantee: ProcessingGuarantee

    public init(
        topics: StreamTopics = StreamTopics(),
        maxInflight: Int = 200_000,
        shutdownFlushTimeoutMs: Int32 = 6000,
        retryBackoffNanos: (initial: UInt64, maximum: UInt64) = (500_000_000, 30_000_000_000),
        stateRebuildMaxRecords: Int = 100_000,
        stateRebuildTimeoutSeconds: Double = 60,
        guarantee: ProcessingGuarantee = .atLeastOnce
    ) {
        self.guarantee = guarantee
        self.topics = topics
        self.maxInflight = maxInflight
        self.shutdownFlushTimeoutMs = shutdownFlushTimeoutMs
        self.retryBackoffNanos = retryBackoffNanos
        self.stateRebuildMaxRecords = stateRebuildMaxRecords
        self.stateRebuildTimeoutSeconds = stateRebuildTimeoutSeconds
    }
}

/// The at-least-once consume → process → produce engine on librdkafka.
///
/// One thread runs ``run()``; every librdkafka callback that touches the engine's state (delivery reports,
/// rebalances, commits, statistics) is served on that thread through `rd_kafka_poll`/`rd_kafka_consumer_poll`,
/// so the state needs no locks. An input offset is stored for commit only when its output (prediction or
/// dead-letter record) has a successful delivery report and so has every offset consumed before it on the same
/// partition. Failed deliveries are produced again with back-off while fetching is paused: nothing is dropped.
public final class StreamProcessor: @unchecked Sendable {
    let consumer: OpaquePointer
    let producer: OpaquePointer
    private let callbacks: CallbackTarget
    let handler: any RecordHandler
    let observer: any StreamObserver
    let logger: Logger
    let options: StreamProcessorOptions
    private let outputTopic: OwnedCString
    private let deadLetterTopic: OwnedCString
    private let stopRequested = Atomic<Bool>(false)
    private let bootstrapServers: String
    /// Connection properties for the reader that replays history during a state rebuild.
    private let readerProperties: [KafkaProperty]

    // State confined to the thread that calls run().
    var progress: [Int32: PartitionProgress] = [:]
    private var atEnd: [Int32: Bool] = [:]
    /// Next offset to handle per assigned partition (last handled + 1).
    var position: [Int32: Int64] = [:]
    var generation: UInt32 = 0
    var inflight = InflightTable()
    private var retries: [PendingRetry] = []
    var backlog: [UnsafeMutablePointer<rd_kafka_message_t>] = []
    var backlogHead = 0
    private var paused = false
    private var caughtUpReported = false
    private var catchUp = CatchUpTracker()
    private var reportedInflight = 0
    /// Set just before `rd_kafka_consumer_close`, which may call the rebalance callback itself.
    private var closing = false
    /// The consumer is stuck in a close that never returned: it must not be destroyed (that would wait too).
    private var consumerAbandoned = false
    private var brokerReachable: Bool?
    private var outputBuffer: [UInt8] = []
    private var lastStoreNanos: UInt64 = 0
    var fatalClientError: KafkaError?
    private var subscribed = false
    private var clientsDestroyed = false
    /// Wakes the loop when either client has work; `nil` only if no pipe could be created.
    private let wakeup: QueueWakeup?
    /// Exactly-once mode: the open transaction, if any.
    var transaction = TransactionState()

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
        self.handler = handler
        self.observer = observer
        self.logger = logger
        self.options = options
        self.outputTopic = OwnedCString(options.topics.output)
        self.deadLetterTopic = OwnedCString(options.topics.deadLetter)
        self.bootstrapServers = bootstrapServers
        let groupProperties: Set<String> = ["group.id", "group.instance.id", "enable.auto.commit", "enable.auto.offset.store"]
        self.readerProperties = (settings.commonProperties + settings.consumerProperties)
            .filter { !groupProperties.contains($0.name) }
        let callbacks = CallbackTarget(observer: observer)
        self.callbacks = callbacks
        let opaque = Unmanaged.passUnretained(callbacks).toOpaque()

        var producerConf = KafkaConf()
        for property in ClientProperties.producer(settings, bootstrapServers: bootstrapServers, guarantee: options.guarantee) {
            try producerConf.set(property)
        }
        if let conf = producerConf.handle {
            rd_kafka_conf_set_opaque(conf, opaque)
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let target = CallbackTarget.from(opaque) else { return }
                target.processor?.deliveryReport(message)
            }
            installCommonCallbacks(conf, role: .producer)
        }
        self.producer = try producerConf.makeClient(RD_KAFKA_PRODUCER, operation: "create the Kafka producer")

        var consumerConf = KafkaConf()
        do {
            for property in ClientProperties.consumer(settings, bootstrapServers: bootstrapServers, guarantee: options.guarantee) {
                try consumerConf.set(property)
            }
            if let conf = consumerConf.handle {
                rd_kafka_conf_set_opaque(conf, opaque)
                rd_kafka_conf_set_rebalance_cb(conf) { _, error, partitions, opaque in
                    guard let partitions, let target = CallbackTarget.from(opaque) else { return }
                    target.processor?.rebalance(error, partitions)
                }
                rd_kafka_conf_set_offset_commit_cb(conf) { _, error, _, opaque in
                    guard let target = CallbackTarget.from(opaque) else { return }
                    target.processor?.offsetCommitResult(error)
                }
                installCommonCallbacks(conf, role: .consumer)
            }
            self.consumer = try consumerConf.makeClient(RD_KAFKA_CONSUMER, operation: "create the Kafka consumer")
        } catch {
            rd_kafka_destroy(producer)
            throw error
        }
        rd_kafka_poll_set_consumer(consumer)
        // The consumer queue (records, and the consumer's callbacks forwarded to it) and the producer's main
        // queue (delivery reports) both wake the loop.
        if let wakeup = QueueWakeup(), let consumerQueue = rd_kafka_queue_get_consumer(consumer) {
            wakeup.register(consumerQueue)
            if let producerQueue = rd_kafka_queue_get_main(producer) { wakeup.register(producerQueue) }
            self.wakeup = wakeup
        } else {
            self.wakeup = nil
        }
        callbacks.processor = self
    }

    deinit {
        destroyClients()
    }

    /// Releases both clients (after ``run()`` or when the processor is dropped without running).
    private func destroyClients() {
        guard !clientsDestroyed else { return }
        clientsDestroyed = true
        drainBacklog()
        for retry in retries { retry.release() }
        retries.removeAll()
        wakeup?.unregisterAll()
        if !consumerAbandoned { rd_kafka_destroy(consumer) }
        rd_kafka_purge(producer, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        rd_kafka_poll(producer, 0)
        rd_kafka_destroy(producer)
    }

    /// Asks ``run()`` to finish: it stops fetching, flushes the producer, commits and leaves the group.
    /// Safe to call from any thread.
    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Runs the loop on the calling thread until ``requestStop()`` or a fatal client error.
    public func run() throws(KafkaError) {
        guard !clientsDestroyed else {
            throw KafkaError(operation: "run the stream processor", message: "it has already run; create a new one")
        }
        try initTransactionsIfNeeded()
        try subscribe()
        logger.info("consuming", metadata: [
            "input": "\(options.topics.input)", "output": "\(options.topics.output)",
            "dead_letter": "\(options.topics.deadLetter)",
        ])
        while !stopRequested.load(ordering: .acquiring), fatalClientError == nil {
            observer.heartbeat()
            rd_kafka_poll(producer, 0)
            retryDueDeliveries()
            updateBackPressure()
            if paused {
                keepConsumerAlive()
                rd_kafka_poll(producer, 0)
                reportInflight()
                storeOffsets(force: false)
                waitForWork(timeoutMs: min(20, idleWaitMs()))
                continue
            }
            // Handle what has been fetched, up to a batch; the queue counts as drained only when it said so.
            var handled = 0
            var drained = false
            while handled < Self.batchLimit, inflight.count < options.maxInflight, retries.isEmpty {
                guard let message = nextMessage(timeoutMs: 0) else {
                    drained = true
                    break
                }
                process(message)
                handled += 1
            }
            rd_kafka_poll(producer, 0)
            reportInflight()
            if handled == 0, inflight.count == 0 { reportCaughtUpIfIdle() }
            storeOffsets(force: false)
            if isExactlyOnce { commitTransactionIfDue(idle: handled == 0) }
            if drained { waitForWork(timeoutMs: idleWaitMs()) }
        }
        shutdown()
        if let fatalClientError { throw fatalClientError }
    }

    /// Records handled before the loop serves delivery reports, retries and offsets again.
    static let batchLimit = 512

    /// Sleeps until either client has something to serve, at most `timeoutMs`.
    private func waitForWork(timeoutMs: Int32) {
        if let wakeup {
            wakeup.wait(timeoutMs: timeoutMs)
        } else if inflight.count > 0 {
            rd_kafka_poll(producer, min(timeoutMs, 2))
        } else if let message = rd_kafka_consumer_poll(consumer, timeoutMs) {
            backlog.append(message)
        }
    }

    /// How long an idle loop may sleep: long enough not to spin, short enough to notice a stop request, a due
    /// retry or an exactly-once transaction that is due.
    private func idleWaitMs() -> Int32 {
        if isExactlyOnce, transaction.open { return 10 }
        if let due = retries.map(\.dueNanos).min() {
            let now = Clock.monotonicNanos()
            return due <= now ? 0 : Int32(min(100, (due - now) / 1_000_000 + 1))
        }
        return 100
    }

    // MARK: - Consuming

    private func subscribe() throws(KafkaError) {
        guard !subscribed else { return }
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, options.topics.input, RD_KAFKA_PARTITION_UA)
        let error = rd_kafka_subscribe(consumer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "subscribe to \(options.topics.input)", error: error)
        }
        subscribed = true
    }

    private func nextMessage(timeoutMs: Int32) -> UnsafeMutablePointer<rd_kafka_message_t>? {
        if backlogHead < backlog.count {
            let message = backlog[backlogHead]
            backlogHead += 1
            if backlogHead == backlog.count {
                backlog.removeAll(keepingCapacity: true)
                backlogHead = 0
            }
            return message
        }
        return rd_kafka_consumer_poll(consumer, timeoutMs)
    }

    /// Serves the consumer's callbacks (rebalance, commits, heartbeats to the group) while fetching is paused,
    /// until its queue is empty; messages that were already fetched wait in the backlog, in order.
    private func keepConsumerAlive() {
        while let message = rd_kafka_consumer_poll(consumer, 0) {
            backlog.append(message)
        }
    }

    private func process(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        defer { rd_kafka_message_destroy(message) }
        let partition = message.pointee.partition
        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                atEnd[partition] = true
            } else {
                let text = string(fromC: rd_kafka_err2str(message.pointee.err))
                observer.kafkaError("consume from \(options.topics.input) [\(partition)]: \(text)", fatal: false)
            }
            return
        }
        setBrokerReachable(true)
        atEnd[partition] = false
        position[partition] = message.pointee.offset + 1
        caughtUpReported = false
        guard let sequence = progress[partition]?.register(offset: message.pointee.offset) else {
            return  // a record from a partition that is no longer assigned: its new owner handles it
        }
        catchUp.recordHandled()
        let generation = progress[partition]?.generation ?? 0
        if isExactlyOnce {
            beginTransactionIfNeeded()
            transaction.positions[partition] = message.pointee.offset + 1
            transaction.records += 1
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestampMs = rd_kafka_message_timestamp(message, &timestampType)
        let timestamp: Double? = timestampMs >= 0 ? Double(timestampMs) / 1000 : nil
        let value = UnsafeRawBufferPointer(start: message.pointee.payload, count: message.pointee.len)
        let key: UnsafeRawBufferPointer? =
            message.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len) }
        let record = ConsumedRecord(
            topic: options.topics.input,
            partition: partition,
            offset: message.pointee.offset,
            key: key,
            value: value,
            timestamp: timestamp
        )
        let disposition = handler.handle(record, output: &outputBuffer)
        var pending = OutputRecord(
            partition: partition,
            generation: generation,
            sequence: sequence,
            kind: .prediction(label: 0, probability: 0),
            sourceTimestamp: timestamp,
            producedAtNanos: 0
        )
        switch disposition {
        case .skip:
            progress[partition]?.complete(sequence: sequence)
        case .publish(let key, let kind):
            pending.kind = kind
            var key = key
            key.withUTF8 { keyBytes in
                outputBuffer.withUnsafeBytes { valueBytes in
                    produce(
                        topic: outputTopic,
                        key: UnsafeRawBufferPointer(keyBytes),
                        value: valueBytes,
                        headers: nil,
                        timestampMs: nil,
                        record: pending
                    )
                }
            }
        case .deadLetter(let deadLetter):
            pending.kind = .deadLetter(errorType: deadLetter.errorType)
            let headers = DeadLetterHeaders.make(deadLetter, source: record)
            let kept = deadLetter.truncateTo.map { min($0, value.count) } ?? value.count
            produce(
                topic: deadLetterTopic,
                key: key,
                value: UnsafeRawBufferPointer(rebasing: value[0..<kept]),
                headers: headers,
                timestampMs: timestampMs >= 0 ? timestampMs : nil,
                record: pending
            )
        }
    }

    // MARK: - Producing

    /// Hands one output to librdkafka; waits (serving callbacks, fetching paused) while its queue is full.
    private func produce(
        topic: OwnedCString,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: OpaquePointer?,
        timestampMs: Int64?,
        record: OutputRecord
    ) {
        var record = record
        record.producedAtNanos = Clock.monotonicNanos()
        let slot = inflight.insert(record)
        while true {
            let error = Producing.produce(
                producer, topic: topic.pointer, key: key, value: value, headers: headers,
                timestampMs: timestampMs, opaque: InflightTable.opaque(for: slot)
            )
            if error == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if error == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                if stopRequested.load(ordering: .acquiring) {
                    // Not produced and not stored: the input is read again after restart.
                    _ = inflight.remove(slot)
                    if let headers { rd_kafka_headers_destroy(headers) }
                    return
                }
                setPaused(true)
                keepConsumerAlive()
                rd_kafka_poll(producer, 50)
                continue
            }
            let reason = string(fromC: rd_kafka_err2str(error))
            observer.deliveryFailed(kind: record.kind, error: reason)
            retries.append(PendingRetry(
                slot: slot, topic: topic, key: key, value: value, headers: headers, timestampMs: timestampMs,
                dueNanos: Clock.monotonicNanos() + options.retryBackoffNanos.initial,
                backoffNanos: options.retryBackoffNanos.initial
            ))
            return
        }
    }

    /// Called by librdkafka (inside `rd_kafka_poll(producer)`, on the processing thread) once per output.
    fileprivate func deliveryReport(_ message: UnsafePointer<rd_kafka_message_t>) {
        let slot = InflightTable.index(from: message.pointee._private)
        guard let record = inflight.peek(slot) else { return }
        let error = message.pointee.err
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let reason = string(fromC: rd_kafka_err2str(error))
            observer.deliveryFailed(kind: record.kind, error: reason)
            guard error != RD_KAFKA_RESP_ERR__PURGE_QUEUE, error != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, !isExactlyOnce else {
                // Exactly-once: the transaction holding this output aborts and its inputs are read again.
                if isExactlyOnce { transaction.failed = true }
                _ = inflight.remove(slot)
                return
            }
            retries.append(PendingRetry(
                slot: slot,
                topic: record.kind.isDeadLetter ? deadLetterTopic : outputTopic,
                message: message,
                dueNanos: Clock.monotonicNanos() + options.retryBackoffNanos.initial,
                backoffNanos: options.retryBackoffNanos.initial
            ))
            return
        }
        _ = inflight.remove(slot)
        complete(record)
        setBrokerReachable(true)
        let now = Clock.monotonicNanos()
        catchUp.recordDelivery(atNanos: now)
        let elapsed = Double(now &- record.producedAtNanos) / 1e9
        observer.delivered(Delivery(kind: record.kind, sourceTimestamp: record.sourceTimestamp, produceToAckSeconds: elapsed))
    }

    private func complete(_ record: OutputRecord) {
        guard progress[record.partition]?.generation == record.generation else { return }
        progress[record.partition]?.complete(sequence: record.sequence)
    }

    private func retryDueDeliveries() {
        guard !retries.isEmpty else { return }
        let now = Clock.monotonicNanos()
        var index = 0
        while index < retries.count {
            var retry = retries[index]
            guard retry.dueNanos <= now else {
                index += 1
                continue
            }
            guard let record = inflight.peek(retry.slot), progress[record.partition]?.generation == record.generation
            else {
                // Its partition was revoked: the new owner reprocesses the input.
                retry.release()
                _ = inflight.remove(retry.slot)
                retries.remove(at: index)
                continue
            }
            let error = retry.produce(producer)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                retries.remove(at: index)
                logger.info("re-produced an output after a failed delivery", metadata: ["topic": "\(retry.topic.string)"])
            } else {
                retry.backoffNanos = min(retry.backoffNanos * 2, options.retryBackoffNanos.maximum)
                retry.dueNanos = now + retry.backoffNanos
                retries[index] = retry
                if error != RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    observer.deliveryFailed(kind: record.kind, error: string(fromC: rd_kafka_err2str(error)))
                }
                index += 1
            }
        }
    }

    // MARK: - Back-pressure

    private func updateBackPressure() {
        let congested = !retries.isEmpty || inflight.count >= options.maxInflight
        if congested != paused { setPaused(congested) }
    }

    private func setPaused(_ pause: Bool, reason: String? = nil) {
        guard pause != paused else { return }
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        if rd_kafka_assignment(consumer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            if pause {
                rd_kafka_pause_partitions(consumer, list)
            } else {
                rd_kafka_resume_partitions(consumer, list)
            }
            rd_kafka_topic_partition_list_destroy(list)
        }
        paused = pause
        observer.backPressure(pause)
        let message = reason ?? (pause ? "fetching paused: outputs are backing up" : "fetching resumed")
        logger.log(level: reason == nil && pause ? .warning : .info, "\(message)", metadata: [
            "inflight": "\(inflight.count)", "retrying": "\(retries.count)",
        ])
    }

    // MARK: - Offsets

    /// Stores the contiguous watermarks that moved; auto-commit sends them to the group coordinator.
    func storeOffsets(force: Bool) {
        guard !isExactlyOnce else { return }
        let now = Clock.monotonicNanos()
        guard force || now &- lastStoreNanos >= 50_000_000 else { return }
        lastStoreNanos = now
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        for index in progress.indices {
            guard let offset = progress.values[index].takeDirty() else { continue }
            if list == nil { list = rd_kafka_topic_partition_list_new(Int32(progress.count)) }
            let entry = rd_kafka_topic_partition_list_add(list, options.topics.input, progress.keys[index])
            entry?.pointee.offset = offset
        }
        guard let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let error = rd_kafka_offsets_store(consumer, list)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR__STATE {
            observer.kafkaError("store offsets: \(string(fromC: rd_kafka_err2str(error)))", fatal: false)
        }
    }

    fileprivate func offsetCommitResult(_ error: rd_kafka_resp_err_t) {
        switch error {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            observer.offsetsCommitted(success: true, error: nil)
        case RD_KAFKA_RESP_ERR__NO_OFFSET:
            break  // nothing new to commit
        default:
            observer.offsetsCommitted(success: false, error: string(fromC: rd_kafka_err2str(error)))
        }
    }

    private func commitNow() {
        guard !isExactlyOnce else {
            commitTransaction()
            return
        }
        storeOffsets(force: true)
        let error = rd_kafka_commit(consumer, nil, 0)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR__NO_OFFSET {
            logger.warning("offset commit failed", metadata: ["error": "\(string(fromC: rd_kafka_err2str(error)))"])
        }
    }

    // MARK: - Rebalance

    fileprivate func rebalance(
        _ error: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let cooperative = string(fromC: rd_kafka_rebalance_protocol(consumer)) == "COOPERATIVE"
        let ids = (0..<Int(partitions.pointee.cnt)).map { partitions.pointee.elems[$0].partition }
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            // Rebuild before the partitions start delivering: new records are scored on complete windows.
            rebuildState(newPartitions: partitions, retained: cooperative ? Array(progress.keys) : [])
            if cooperative {
                rd_kafka_error_destroy(rd_kafka_incremental_assign(consumer, partitions))
            } else {
                rd_kafka_assign(consumer, partitions)
            }
            for id in ids {
                generation &+= 1
                progress[id] = PartitionProgress(generation: generation)
                atEnd[id] = false
            }
            // librdkafka keeps a partition's pause flag across a lost assignment and its re-assignment: set the
            // flag explicitly either way, or a partition paused before a session timeout comes back paused and is
            // never fetched again (the silent stall after a long outage).
            if paused {
                rd_kafka_pause_partitions(consumer, partitions)
            } else {
                rd_kafka_resume_partitions(consumer, partitions)
            }
            setBrokerReachable(true)
            caughtUpReported = false
            logger.info("partitions assigned", metadata: ["partitions": "\(ids)", "topic": "\(options.topics.input)"])
            observer.rebalanced(.assign, assignedPartitions: progress.count)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(consumer) != 0
            if !lost {
                // Deliver what is in flight so the new owner starts after it: fewer duplicates.
                rd_kafka_flush(producer, options.shutdownFlushTimeoutMs)
                if closing {
                    // Inside rd_kafka_consumer_close: shutdown() committed just before, and close commits what is
                    // stored. A synchronous commit here waits forever in librdkafka 2.0.2 (the group is
                    // terminating and never answers it), so only store.
                    storeOffsets(force: true)
                } else {
                    commitNow()
                }
            } else if isExactlyOnce {
                abortTransaction(rewind: false)
            }
            if cooperative {
                rd_kafka_error_destroy(rd_kafka_incremental_unassign(consumer, partitions))
            } else {
                rd_kafka_assign(consumer, nil)
            }
            for id in ids {
                progress[id] = nil
                atEnd[id] = nil
                position[id] = nil
            }
            dropBacklog(for: Set(ids))
            // The revoked partitions' state belongs to their new owner; what stays is rebuilt from the log.
            rebuildState(newPartitions: nil, retained: Array(progress.keys))
            logger.info(lost ? "partitions lost" : "partitions revoked", metadata: ["partitions": "\(ids)"])
            observer.rebalanced(lost ? .lost : .revoke, assignedPartitions: progress.count)
        default:
            observer.kafkaError("rebalance: \(string(fromC: rd_kafka_err2str(error)))", fatal: false)
            rd_kafka_assign(consumer, nil)
            progress.removeAll()
            atEnd.removeAll()
            observer.rebalanced(.lost, assignedPartitions: 0)
        }
    }

    // MARK: - State rebuild

    /// Replays, for each partition, up to `stateRebuildMaxRecords` records before the point processing resumes
    /// from (the committed offset of a new partition, the current position of a retained one) into the handler,
    /// after it forgot its state — so outputs after a restart or rebalance equal those of an uninterrupted run.
    func rebuildState(
        newPartitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        retained: [Int32]
    ) {
        handler.resetState()
        guard options.stateRebuildMaxRecords > 0 else { return }
        var ends: [(partition: Int32, end: Int64)] = retained.compactMap { id in position[id].map { (id, $0) } }
        if let newPartitions, newPartitions.pointee.cnt > 0, let committed = rd_kafka_topic_partition_list_copy(newPartitions) {
            defer { rd_kafka_topic_partition_list_destroy(committed) }
            let error = rd_kafka_committed(consumer, committed, 10_000)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                for index in 0..<Int(committed.pointee.cnt) where committed.pointee.elems[index].offset > 0 {
                    ends.append((committed.pointee.elems[index].partition, committed.pointee.elems[index].offset))
                }
            } else {
                logger.warning("cannot read committed offsets; per-product state starts empty (first outputs may be warm-up skips)", metadata: [
                    "error": "\(string(fromC: rd_kafka_err2str(error)))",
                ])
            }
        }
        guard !ends.isEmpty else { return }
        let reader: TopicReader
        do {
            reader = try TopicReader(bootstrapServers: bootstrapServers, topic: options.topics.input, properties: readerProperties)
        } catch {
            logger.warning("cannot create the state rebuild reader; per-product state starts empty", metadata: ["error": "\(error)"])
            return
        }
        for (partition, end) in ends.sorted(by: { $0.partition < $1.partition }) {
            // A stop request (SIGTERM) ends the rebuild: the process is leaving, the windows are not needed.
            guard !stopRequested.load(ordering: .relaxed) else {
                logger.info("state rebuild cut short: stopping")
                return
            }
            var low: Int64 = 0
            var high: Int64 = 0
            let error = rd_kafka_query_watermark_offsets(consumer, options.topics.input, partition, &low, &high, 10_000)
            if error != RD_KAFKA_RESP_ERR_NO_ERROR { low = 0 }
            let start = max(low, end - Int64(options.stateRebuildMaxRecords))
            guard start < end else { continue }
            let started = Clock.monotonicNanos()
            do {
                let count = try reader.replay(
                    partition: partition, offsets: start..<end, timeoutSeconds: options.stateRebuildTimeoutSeconds,
                    isCancelled: { self.stopRequested.load(ordering: .relaxed) }
                ) {
                    handler.warmUp($0)
                }
                let seconds = Double(Clock.monotonicNanos() - started) / 1e9
                logger.info("state rebuilt from the log", metadata: [
                    "partition": "\(partition)", "offsets": "\(start)..<\(end)", "records": "\(count)",
                    "seconds": "\(String(format: "%.3f", seconds))",
                ])
                if count < end - start, high >= end, !stopRequested.load(ordering: .relaxed) {
                    logger.warning("state rebuild read fewer records than expected", metadata: [
                        "partition": "\(partition)", "expected": "\(end - start)", "read": "\(count)",
                    ])
                }
            } catch {
                logger.warning("state rebuild failed; continuing with partial state", metadata: [
                    "partition": "\(partition)", "error": "\(error)",
                ])
            }
        }
    }

    func dropBacklog(for partitions: Set<Int32>) {
        guard backlogHead < backlog.count else { return }
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

    private func drainBacklog() {
        for message in backlog[backlogHead...] { rd_kafka_message_destroy(message) }
        backlog.removeAll()
        backlogHead = 0
    }

    // MARK: - Health signals

    /// Tells the observer the in-flight count once per loop pass (not per record) when it changed.
    private func reportInflight() {
        guard inflight.count != reportedInflight else { return }
        reportedInflight = inflight.count
        observer.inflightChanged(reportedInflight)
    }

    /// Catch-ups of at least this many records are logged at info level.
    static let catchUpLogMinimumRecords = 1000

    private func reportCaughtUpIfIdle() {
        guard !caughtUpReported, !progress.isEmpty, inflight.count == 0, backlogHead >= backlog.count else { return }
        guard progress.keys.allSatisfy({ atEnd[$0] == true }) else { return }
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

    func setBrokerReachable(_ reachable: Bool) {
        guard brokerReachable != reachable else { return }
        brokerReachable = reachable
        observer.brokerReachability(reachable)
    }

    fileprivate func clientError(_ error: rd_kafka_resp_err_t, reason: String, client: OpaquePointer?) {
        if error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
            setBrokerReachable(false)
        }
        if error == RD_KAFKA_RESP_ERR__FATAL, let client {
            var text = [CChar](repeating: 0, count: 512)
            let underlying = text.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_fatal_error(client, buffer.baseAddress, buffer.count)
            }
            let detail = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            fatalClientError = KafkaError(operation: "Kafka client", code: underlying.rawValue, message: detail)
            observer.kafkaError("fatal: \(detail)", fatal: true)
            return
        }
        observer.kafkaError(reason, fatal: false)
    }

    // MARK: - Shutdown

    /// Runs `rd_kafka_consumer_close` on a helper thread (its rebalance callback runs there; this thread only
    /// waits) and reports whether it returned within `seconds`.
    private func closeConsumerWithin(seconds: Double) -> Bool {
        let done = CloseCompletion()
        let thread = Thread { [self] in
            let error = rd_kafka_consumer_close(consumer)
            if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("consumer close", metadata: ["error": "\(string(fromC: rd_kafka_err2str(error)))"])
            }
            done.finished.store(true, ordering: .releasing)
        }
        thread.start()
        let deadline = Clock.monotonicNanos() + UInt64(seconds * 1e9)
        while !done.finished.load(ordering: .acquiring) {
            if Clock.monotonicNanos() >= deadline { return false }
            usleep(5_000)
        }
        return true
    }

    private func shutdown() {
        logger.info("stopping: flushing outputs and committing offsets", metadata: ["inflight": "\(inflight.count)"])
        setPaused(true, reason: "fetching stopped for shutdown")
        drainBacklog()
        let remaining = rd_kafka_flush(producer, options.shutdownFlushTimeoutMs)
        if remaining != RD_KAFKA_RESP_ERR_NO_ERROR || !retries.isEmpty {
            logger.warning("outputs not acknowledged at shutdown; their inputs are not committed and will be processed again", metadata: [
                "queued": "\(rd_kafka_outq_len(producer))", "retrying": "\(retries.count)",
            ])
        }
        for retry in retries { retry.release() }
        retries.removeAll()
        if fatalClientError == nil { commitNow() }
        closing = true
        if !closeConsumerWithin(seconds: options.consumerCloseTimeoutSeconds) {
            // librdkafka 2.0.2 can block forever inside close when the group is rebalancing (its revoke callback's
            // assign call never returns). Offsets were committed above; the group expires this member's session.
            // The stuck thread keeps the consumer: destroying it would wait too.
            logger.warning("the consumer did not close in time; leaving without a clean group exit", metadata: [
                "seconds": "\(options.consumerCloseTimeoutSeconds)",
            ])
            consumerAbandoned = true
        }
        if !progress.isEmpty {
            // Closing normally revokes through the rebalance callback; count it here only if it did not.
            progress.removeAll()
            observer.rebalanced(.revoke, assignedPartitions: 0)
        }
        destroyClients()
        logger.info("stopped")
    }
}

/// Set by the thread that ran `rd_kafka_consumer_close` when it returned.
private final class CloseCompletion: Sendable {
    let finished = Atomic<Bool>(false)
}

extension OutputKind {
    var isDeadLetter: Bool {
        if case .deadLetter = self { return true }
        return false
    }
}

/// Routes librdkafka's C callbacks (which carry one opaque pointer per client) back to the processor.
final class CallbackTarget: @unchecked Sendable {
    /// Set once, right after both clients exist and before any callback that uses it can run (callbacks that
    /// touch the processor are served only by the processing thread's poll calls).
    var processor: StreamProcessor?
    /// Immutable, so librdkafka's own threads may log through it at any time.
    let observer: any StreamObserver

    init(observer: any StreamObserver) {
        self.observer = observer
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> CallbackTarget? {
        guard let opaque else { return nil }
        return Unmanaged<CallbackTarget>.fromOpaque(opaque).takeUnretainedValue()
    }
}

enum ClientRole {
    case consumer
    case producer
}

/// Error, statistics and log callbacks shared by both clients.
private func installCommonCallbacks(_ conf: OpaquePointer, role: ClientRole) {
    rd_kafka_conf_set_error_cb(conf) { client, error, reason, opaque in
        guard let target = CallbackTarget.from(opaque) else { return }
        let text = string(fromC: reason)
        target.processor?.clientError(rd_kafka_resp_err_t(rawValue: error), reason: text, client: client)
    }
    switch role {
    case .consumer:
        rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
            guard let json, let target = CallbackTarget.from(opaque) else { return 0 }
            target.observer.consumerStatistics(String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self))
            return 0
        }
    case .producer:
        rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
            guard let json, let target = CallbackTarget.from(opaque) else { return 0 }
            target.observer.producerStatistics(String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self))
            return 0
        }
    }
    rd_kafka_conf_set_log_cb(conf) { client, level, facility, message in
        guard let client, let target = CallbackTarget.from(rd_kafka_opaque(client)) else { return }
        target.observer.kafkaLog(level: level, facility: string(fromC: facility), message: string(fromC: message))
    }
}

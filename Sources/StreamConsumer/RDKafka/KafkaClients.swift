import Crdkafka
import Foundation
import Synchronization

/// The consumer and producer handles of one processor, their callbacks and their end of life.
///
/// Every callback only turns a C event into a call on the ``KafkaEventSink`` (or the observer, for logs and
/// statistics); the engine's decisions live elsewhere.
final class KafkaClients {
    let consumer: OpaquePointer
    let producer: OpaquePointer
    let target: CallbackTarget
    /// Wakes the loop when either client has work; `nil` only if no pipe could be created.
    let wakeup: QueueWakeup?
    private var phase = Phase.open

    /// The clients' lifecycle.
    private enum Phase {
        case open
        /// `rd_kafka_consumer_close` is running (or was abandoned) on its own thread.
        case closing(abandoned: Bool)
        case destroyed
    }

    /// Creates both clients (no network traffic yet).
    init(
        settings: KafkaSettings, bootstrapServers: String, guarantee: ProcessingGuarantee, observer: any StreamObserver
    ) throws {
        let target = CallbackTarget(observer: observer)
        self.target = target
        let opaque = Unmanaged.passUnretained(target).toOpaque()

        var producerConf = KafkaConf()
        for property in ClientProperties.producer(settings, bootstrapServers: bootstrapServers, guarantee: guarantee) {
            try producerConf.set(property)
        }
        if let conf = producerConf.handle {
            rd_kafka_conf_set_opaque(conf, opaque)
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let sink = CallbackTarget.from(opaque)?.sink else { return }
                sink.deliveryReport(message)
            }
            Self.installCommonCallbacks(conf, role: .producer)
        }
        self.producer = try producerConf.makeClient(RD_KAFKA_PRODUCER, operation: "create the Kafka producer")

        var consumerConf = KafkaConf()
        do {
            for property in ClientProperties.consumer(settings, bootstrapServers: bootstrapServers, guarantee: guarantee) {
                try consumerConf.set(property)
            }
            if let conf = consumerConf.handle {
                rd_kafka_conf_set_opaque(conf, opaque)
                rd_kafka_conf_set_rebalance_cb(conf) { client, error, partitions, opaque in
                    guard let client, let partitions, let target = CallbackTarget.from(opaque) else { return }
                    guard let sink = target.sink else {
                        // Closing: give the partitions back so the close can finish; the engine is not touched.
                        KafkaClients.releaseAssignment(client, error: error, partitions: partitions)
                        return
                    }
                    sink.rebalance(error, partitions: partitions)
                }
                rd_kafka_conf_set_offset_commit_cb(conf) { _, error, _, opaque in
                    CallbackTarget.from(opaque)?.sink?.offsetCommitResult(error)
                }
                Self.installCommonCallbacks(conf, role: .consumer)
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
    }

    deinit {
        destroy()
    }

    /// Whether the protocol of the current group generation is cooperative (incremental assign/unassign).
    var isCooperative: Bool {
        Self.isCooperative(consumer)
    }

    static func isCooperative(_ client: OpaquePointer) -> Bool {
        string(fromC: rd_kafka_rebalance_protocol(client)) == "COOPERATIVE"
    }

    /// Gives a revoked or lost assignment back to librdkafka without any other work.
    static func releaseAssignment(
        _ client: OpaquePointer, error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let cooperative = isCooperative(client)
        if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            // Nothing asks for these any more: accept them empty-handed (the group leaves right after).
            if cooperative {
                rd_kafka_error_destroy(rd_kafka_incremental_assign(client, partitions))
            } else {
                rd_kafka_assign(client, partitions)
            }
        } else if cooperative {
            rd_kafka_error_destroy(rd_kafka_incremental_unassign(client, partitions))
        } else {
            rd_kafka_assign(client, nil)
        }
    }

    /// Runs `rd_kafka_consumer_close` on a helper thread (its rebalance callback runs there, without the engine)
    /// and reports whether it returned within `seconds`. When it did not, the consumer is abandoned: it is never
    /// destroyed (that would wait for the stuck close too).
    /// With `commitFirst`, the stored offsets are committed synchronously on the same thread first (inside the
    /// same bound: a commit to an unreachable coordinator must not hold up the exit).
    func closeConsumer(within seconds: Double, commitFirst: Bool, onError: @escaping @Sendable (String) -> Void) -> Bool {
        guard case .open = phase else { return true }
        target.closing.store(true, ordering: .releasing)
        let done = Completion()
        let consumer = ClientHandle(consumer)
        let thread = Thread {
            if commitFirst {
                let commit = rd_kafka_commit(consumer.pointer, nil, 0)
                if commit != RD_KAFKA_RESP_ERR_NO_ERROR, commit != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    onError("final commit: \(KafkaError.text(commit))")
                }
            }
            let error = rd_kafka_consumer_close(consumer.pointer)
            if error != RD_KAFKA_RESP_ERR_NO_ERROR { onError(KafkaError.text(error)) }
            done.finished.store(true, ordering: .releasing)
        }
        thread.start()
        let deadline = Clock.monotonicNanos() + UInt64(max(seconds, 0) * 1e9)
        while !done.finished.load(ordering: .acquiring) {
            if Clock.monotonicNanos() >= deadline {
                phase = .closing(abandoned: true)
                // The abandoned consumer is never destroyed, so its threads (the close's, librdkafka's) may still
                // call back with the target as their opaque pointer, which is unretained: keep the target alive
                // for as long as they may (one object, leaked with the consumer it serves).
                _ = Unmanaged.passRetained(target)
                return false
            }
            usleep(5_000)
        }
        phase = .closing(abandoned: false)
        return true
    }

    /// Releases both clients (after the loop, or when the processor is dropped without running).
    func destroy() {
        if case .destroyed = phase { return }
        let abandoned = if case .closing(abandoned: true) = phase { true } else { false }
        phase = .destroyed
        // No callback served while the handles go away may reach the sink (it may be deinitialising).
        target.closing.store(true, ordering: .releasing)
        wakeup?.unregisterAll()
        if !abandoned { rd_kafka_destroy(consumer) }
        rd_kafka_purge(producer, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        rd_kafka_poll(producer, 0)
        rd_kafka_destroy(producer)
    }

    var isDestroyed: Bool {
        if case .destroyed = phase { return true }
        return false
    }

    private enum Role {
        case consumer
        case producer
    }

    /// Error, statistics and log callbacks shared by both clients.
    private static func installCommonCallbacks(_ conf: OpaquePointer, role: Role) {
        rd_kafka_conf_set_error_cb(conf) { client, error, reason, opaque in
            CallbackTarget.from(opaque)?.sink?.clientError(rd_kafka_resp_err_t(rawValue: error), reason: string(fromC: reason), client: client)
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
}

/// Set by the thread that ran `rd_kafka_consumer_close` when it returned.
private final class Completion: Sendable {
    let finished = Atomic<Bool>(false)
}

/// A client handle used by another thread than the processing loop's: the closing thread, the ``LogEndProbe``'s,
/// the metrics scrape (``PositionBoard``). Unchecked: an `OpaquePointer` is not `Sendable`, but librdkafka's
/// handles are thread-safe (its calls may come from any thread); what must be ordered is only their destruction,
/// which comes after each user is done: ``KafkaClients/destroy()`` runs after the close returned, after
/// ``LogEndProbe/stop()`` and after the board was detached (``PositionBoard/detach()``, under its lock).
struct ClientHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

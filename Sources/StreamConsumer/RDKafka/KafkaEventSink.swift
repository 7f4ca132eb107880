import Crdkafka
import Synchronization

/// Receives librdkafka's engine callbacks as Swift calls. They arrive on the processing thread only: librdkafka
/// serves them inside that thread's poll calls (delivery reports, rebalances, commit results, errors).
protocol KafkaEventSink: AnyObject {
    func deliveryReport(_ message: UnsafePointer<rd_kafka_message_t>)
    func rebalance(_ error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>)
    func offsetCommitResult(_ error: rd_kafka_resp_err_t)
    func clientError(_ error: rd_kafka_resp_err_t, reason: String, client: OpaquePointer?)
}

/// Routes librdkafka's C callbacks (which carry one opaque pointer per client) back to Swift.
///
/// Sendable without `@unchecked`: the sink is set once through an atomic lazy reference, the closing flag is an
/// atomic, and the observer is immutable (librdkafka's own threads log and report statistics through it).
final class CallbackTarget: Sendable {
    private let sinkBox = AtomicLazyReference<SinkBox>()
    /// Set before `rd_kafka_consumer_close`: from then on a rebalance callback (which may run on the closing
    /// thread, even after the processing thread gave up waiting for it) only gives the partitions back to
    /// librdkafka and never touches the engine.
    let closing = Atomic<Bool>(false)
    let observer: any StreamObserver

    init(observer: any StreamObserver) {
        self.observer = observer
    }

    /// Sets the sink once, before any poll call can serve a callback that needs it.
    func attach(_ sink: any KafkaEventSink) {
        _ = sinkBox.storeIfNil(SinkBox(sink))
    }

    /// The sink, unless the clients are closing.
    var sink: (any KafkaEventSink)? {
        guard !closing.load(ordering: .acquiring) else { return nil }
        return sinkBox.load()?.sink
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> CallbackTarget? {
        guard let opaque else { return nil }
        return Unmanaged<CallbackTarget>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Holds the sink for ``CallbackTarget``; only ever read on the processing thread, which owns the sink.
private final class SinkBox: @unchecked Sendable {
    // Unchecked: the sink is read only by callbacks served on the processing thread, which created it; the box
    // itself is immutable.
    unowned let sink: any KafkaEventSink

    init(_ sink: any KafkaEventSink) {
        self.sink = sink
    }
}

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
/// Sendable without `@unchecked`: the sink is set once through an atomic, the closing flag is an atomic, and the
/// observer is immutable (librdkafka's own threads log and report statistics through it).
final class CallbackTarget: Sendable {
    /// The sink's box, retained once here and released at deinit. An `Atomic` of an unmanaged reference rather than
    /// an `AtomicLazyReference`: its `load` is one atomic read, where the lazy reference's went through an
    /// unspecialised generic in the runtime library and a retain — 2 % of the processing thread, once per delivery
    /// report (`perf`, docs/PERFORMANCE.md session 11).
    private let sinkBox = Atomic<Unmanaged<SinkBox>?>(nil)
    /// Set before `rd_kafka_consumer_close`: from then on a rebalance callback (which may run on the closing
    /// thread, even after the processing thread gave up waiting for it) only gives the partitions back to
    /// librdkafka and never touches the engine.
    let closing = Atomic<Bool>(false)
    let observer: any StreamObserver

    init(observer: any StreamObserver) {
        self.observer = observer
    }

    deinit {
        sinkBox.load(ordering: .acquiring)?.release()
    }

    /// Sets the sink once, before any poll call can serve a callback that needs it; later calls change nothing.
    func attach(_ sink: any KafkaEventSink) {
        let box = Unmanaged.passRetained(SinkBox(sink))
        let (stored, _) = sinkBox.compareExchange(expected: nil, desired: box, ordering: .acquiringAndReleasing)
        if !stored { box.release() }
    }

    /// The sink, unless the clients are closing.
    var sink: (any KafkaEventSink)? {
        guard !closing.load(ordering: .acquiring) else { return nil }
        return sinkBox.load(ordering: .acquiring)?.takeUnretainedValue().sink
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

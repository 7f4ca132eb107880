import Crdkafka
import Synchronization

/// Where the consumer stands, read at any time from any thread (the metrics scrape): how far behind each
/// assigned partition is, from librdkafka's cached high watermarks and the engine's position, so a paused or
/// stalled consumer's lag keeps growing between two scrapes instead of freezing at its last value.
public struct ConsumerPosition: Sendable, Equatable {
    public struct Partition: Sendable, Equatable {
        public var partition: Int32
        /// High watermark − the stored (committable) offset, or − the next offset to handle when nothing was
        /// stored yet, or − the log start when nothing was handled or committed and auto.offset.reset is
        /// earliest; `nil` while these are unknown.
        public var lagRecords: Int64?
        /// Kafka timestamp (epoch seconds) of the last record handled from this partition, kept across
        /// re-assignments.
        public var lastHandledTimestamp: Double?
    }

    public var topic: String
    public var partitions: [Partition]
    /// Kafka timestamp (epoch seconds) of the oldest record fetched and waiting to be handled, if any.
    public var oldestFetchedTimestamp: Double?
}

/// The engine's position, published by the processing thread (at most every 100 ms) for ``ConsumerPosition``.
final class PositionBoard: Sendable {
    struct Entry: Sendable, Equatable {
        var position: Int64?
        var committable: Int64?
    }

    private struct State: Sendable {
        var entries: [Int32: Entry] = [:]
        var lastHandled: [Int32: Double] = [:]
        var oldestFetched: Double?
        /// The consumer handle while it may be asked for watermarks; `nil` once it is being destroyed.
        var consumer: ConsumerHandle?
    }

    private let state = Mutex(State())
    let topic: String
    /// Whether a partition with nothing committed starts at the log start (auto.offset.reset=earliest).
    let startsAtLogStart: Bool

    init(topic: String, consumer: OpaquePointer, startsAtLogStart: Bool) {
        self.topic = topic
        self.startsAtLogStart = startsAtLogStart
        state.withLock { $0.consumer = ConsumerHandle(consumer) }
    }

    /// `lastHandled` holds the partitions that handled a record in their current assignment; the board keeps
    /// each partition's latest across re-assignments.
    func publish(entries: [Int32: Entry], lastHandled: [Int32: Double], oldestFetched: Double?) {
        state.withLock {
            $0.entries = entries
            $0.lastHandled.merge(lastHandled) { _, new in new }
            $0.oldestFetched = oldestFetched
        }
    }

    /// No more watermark reads: the consumer is about to be destroyed.
    func detach() {
        state.withLock { $0.consumer = nil }
    }

    func read() -> ConsumerPosition {
        state.withLock { state in
            let partitions = state.entries.keys.sorted().map { id -> ConsumerPosition.Partition in
                let entry = state.entries[id]
                var lag: Int64?
                var low: Int64 = -1
                var high: Int64 = -1
                // Cached values from the last fetch response or statistics: no broker round trip.
                if let consumer = state.consumer,
                    rd_kafka_get_watermark_offsets(consumer.pointer, topic, id, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                    high >= 0
                {
                    // Nothing handled and nothing committed: with auto.offset.reset=earliest every record from
                    // the log start is still to be handled — a partition that never delivers shows its whole
                    // length as lag instead of no series at all.
                    let start: Int64? = startsAtLogStart && low >= 0 ? low : nil
                    if let from = entry?.committable ?? entry?.position ?? start {
                        lag = max(0, high - from)
                    }
                }
                return ConsumerPosition.Partition(partition: id, lagRecords: lag, lastHandledTimestamp: state.lastHandled[id])
            }
            return ConsumerPosition(topic: topic, partitions: partitions, oldestFetchedTimestamp: state.oldestFetched)
        }
    }
}

/// The consumer handle as the board keeps it: used only under the board's lock, and only while the processing
/// thread has not detached it (librdkafka's watermark cache is safe to read from any thread).
private struct ConsumerHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

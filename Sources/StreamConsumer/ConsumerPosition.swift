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
        /// Wall-clock time (epoch seconds) the current assignment began: with nothing handled yet (committed
        /// offset being looked up, state being rebuilt), the records waiting in it have waited at least since.
        public var assignedTimestamp: Double?
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
        /// The committed offset is still being looked up: a missing position means "not known yet", not
        /// "nothing committed".
        var awaitingCommitted = false
        /// Wall-clock time (epoch seconds) the current assignment began.
        var assignedAt: Double?
    }

    /// A partition's watermarks as some other client saw them: the state rebuild's reader, or a look-up of the
    /// log's end (``LogEndProbe``) for a partition the consumer is not fetching.
    struct Watermarks: Sendable, Equatable {
        var low: Int64
        var high: Int64

        /// The higher of each: a log's start and end only move forward, so the higher is the newer (negative:
        /// unknown, always lower).
        func merged(with other: Watermarks?) -> Watermarks {
            guard let other else { return self }
            return Watermarks(low: max(low, other.low), high: max(high, other.high))
        }
    }

    private struct State: Sendable {
        var entries: [Int32: Entry] = [:]
        var lastHandled: [Int32: Double] = [:]
        var oldestFetched: Double?
        /// Watermarks known from elsewhere for partitions the consumer has not fetched from yet or is not
        /// fetching (paused, silent).
        var known: [Int32: Watermarks] = [:]
        /// The consumer handle while it may be asked for watermarks (librdkafka's watermark cache is safe to
        /// read from any thread); `nil` once the processing thread detached it, before it is destroyed.
        var consumer: ClientHandle?
    }

    private let state = Mutex(State())
    let topic: String
    /// Whether a partition with nothing committed starts at the log start (auto.offset.reset=earliest).
    let startsAtLogStart: Bool

    init(topic: String, consumer: OpaquePointer, startsAtLogStart: Bool) {
        self.topic = topic
        self.startsAtLogStart = startsAtLogStart
        state.withLock { $0.consumer = ClientHandle(consumer) }
    }

    /// `lastHandled` holds the partitions that handled a record in their current assignment; the board keeps
    /// each partition's latest across re-assignments.
    /// `known`: watermarks seen by another client (the state rebuild's reader, the log-end look-ups), used where
    /// the consumer has none or older ones.
    func publish(entries: [Int32: Entry], lastHandled: [Int32: Double], oldestFetched: Double?, known: [Int32: Watermarks] = [:]) {
        state.withLock {
            $0.entries = entries
            $0.known = known
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
                if let consumer = state.consumer, let entry {
                    if rd_kafka_get_watermark_offsets(consumer.pointer, topic, id, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR {
                        low = -1
                        high = -1
                    }
                    let watermarks = Self.watermarks(consumer: Watermarks(low: low, high: high), known: state.known[id])
                    lag = Self.lag(entry, low: watermarks.low, high: watermarks.high, startsAtLogStart: startsAtLogStart)
                }
                return ConsumerPosition.Partition(
                    partition: id, lagRecords: lag, lastHandledTimestamp: state.lastHandled[id], assignedTimestamp: entry?.assignedAt
                )
            }
            return ConsumerPosition(topic: topic, partitions: partitions, oldestFetchedTimestamp: state.oldestFetched)
        }
    }
}

extension PositionBoard {
    /// The watermarks a partition's lag is counted against: the consumer's own (negative where it has none) and
    /// those learnt elsewhere (``EngineDriver/learnWatermarks(of:low:high:)``: the state rebuild's reader, which
    /// fetches partitions the consumer keeps paused until their rebuild ends, and the log-end look-ups), each the
    /// higher of the two — a log's start and end only move forward, so the higher is the newer. The start matters
    /// for a partition whose lag counts from it: librdkafka keeps the start its last fetch saw, and retention may
    /// have moved it since (a look-up reads it again).
    static func watermarks(consumer: Watermarks, known: Watermarks?) -> Watermarks {
        consumer.merged(with: known)
    }

    /// Records between a partition's position and its high watermark `high`: from the stored (committable)
    /// offset, else the next offset to handle, else — nothing handled, nothing committed, and auto.offset.reset
    /// is earliest — from the log start `low`, so a partition that never delivers shows its whole length instead
    /// of no series. `nil` while unknown (no watermark yet, or the committed offset is still being looked up).
    static func lag(_ entry: Entry, low: Int64, high: Int64, startsAtLogStart: Bool) -> Int64? {
        guard high >= 0 else { return nil }
        let logStart: Int64? = startsAtLogStart && !entry.awaitingCommitted && low >= 0 ? low : nil
        guard let from = entry.committable ?? entry.position ?? logStart else { return nil }
        return max(0, high - from)
    }
}

//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// The scrape-time view of the consumer's position. Lag that is only written
// when records are handled (or when librdkafka emits statistics) freezes
// exactly when it matters most: a stalled or paused consumer stops writing it.
// A LagSource is asked at every /metrics render instead, so a stalled
// consumer's lag keeps growing.
//
//===----------------------------------------------------------------------===//

/// One scrape's view of the consumer's position, taken when /metrics is rendered.
public struct LagSnapshot: Sendable, Equatable {
    /// One assigned partition's record lag.
    public struct Partition: Sendable, Equatable {
        /// The topic name (the `topic` label).
        public var topic: String
        /// The partition id (the `partition` label).
        public var partition: Int
        /// Records between the consumer's position and the partition's high watermark. Negative values
        /// mean "unknown" (no watermark yet) and export no series.
        public var lagRecords: Int64

        /// Creates a partition entry.
        public init(topic: String, partition: Int, lagRecords: Int64) {
            self.topic = topic
            self.partition = partition
            self.lagRecords = lagRecords
        }
    }

    /// The partitions to export, one `volatility_consumer_lag_records` series each; partitions missing here
    /// lose their series.
    public var partitions: [Partition]
    /// Epoch seconds (Kafka record timestamp) of the oldest input that is waiting to be handled, or, when the waiting records are not fetched yet, of the last record handled; nil when nothing waits.
    public var oldestWaitingTimestamp: Double?

    /// Creates a snapshot.
    public init(partitions: [Partition], oldestWaitingTimestamp: Double?) {
        self.partitions = partitions
        self.oldestWaitingTimestamp = oldestWaitingTimestamp
    }
}

/// Something that can say, at any moment, how far the consumer is behind its input; installed with
/// ``ConsumerMetrics/setLagSource(_:)`` and asked once per `/metrics` render.
///
/// Called on the metrics endpoint's event-loop threads, concurrently with the processing thread (and with
/// other scrapes), so an implementation must be thread-safe and quick: it must not wait for the processing
/// loop, which may be the very thing that is stuck.
public protocol LagSource: AnyObject, Sendable {
    /// The consumer's position now.
    func lagSnapshot() -> LagSnapshot
}

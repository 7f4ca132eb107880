import ConsumerMetrics
import StreamConsumer

/// Feeds the metrics scrape with the processor's current position: `lag_records` per assigned partition and the
/// age of the oldest waiting input for `lag_seconds`, computed at every scrape.
final class ProcessorLagSource: LagSource {
    private let processor: StreamProcessor

    init(processor: StreamProcessor) {
        self.processor = processor
    }

    func lagSnapshot() -> LagSnapshot {
        Self.snapshot(processor.currentPosition())
    }

    /// The scrape's view of `position`: partitions whose lag is known, and since when the oldest waiting record
    /// has waited (at least).
    static func snapshot(_ position: ConsumerPosition) -> LagSnapshot {
        var partitions: [LagSnapshot.Partition] = []
        var waitingSince: Double?
        for partition in position.partitions {
            guard let lag = partition.lagRecords else { continue }
            partitions.append(LagSnapshot.Partition(topic: position.topic, partition: Int(partition.partition), lagRecords: lag))
            // Records wait behind the last one handled: the age of that one bounds theirs (a stalled or paused
            // partition's lag then grows with the clock). With nothing handled from it yet (its committed offset
            // being looked up, its state being rebuilt), they have waited at least since it was assigned.
            if lag > 0, let since = partition.lastHandledTimestamp ?? partition.assignedTimestamp {
                waitingSince = min(waitingSince ?? since, since)
            }
        }
        let oldest = position.oldestFetchedTimestamp.map { fetched in min(fetched, waitingSince ?? fetched) } ?? waitingSince
        return LagSnapshot(partitions: partitions, oldestWaitingTimestamp: oldest)
    }
}

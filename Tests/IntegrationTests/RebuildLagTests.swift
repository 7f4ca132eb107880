import Foundation
@testable import StreamConsumer
import Synchronization
import Testing

@testable import consumerd

/// A restarted processor rebuilding its state on a real librdkafka consumer: what the metrics scrape reads
/// meanwhile. Before, `lag_seconds` read 0 (nothing handled yet, nothing fetched: the partition is paused for its
/// rebuild) and partitions the consumer had not fetched from had no `lag_records` — a "drained" check passed
/// mid-rebuild with 138k records waiting.
@Suite(.serialized) struct RebuildLagTests {
    @Test func aRestartedProcessorReportsItsBacklogWhileItRebuildsState() throws {
        let cluster = try MockCluster(brokers: 1)
        var scenario = try RebuildScenario(cluster: cluster, inputPartitions: 1, outputPartitions: 1, history: 200)
        scenario.backlog = 300
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        try scenario.produce(0..<scenario.history, with: producer)
        let first = ReachingHandler()
        let firstObserver = RebuildObserver()
        try scenario.runProcessor(group: "rebuild-lag", maxRecords: 1_000, handler: first, observer: firstObserver) {
            firstObserver.state.withLock { $0.delivered >= scenario.history && $0.caughtUp > 0 }
        }
        try scenario.produce(scenario.history..<(scenario.history + scenario.backlog), with: producer)

        // The second processor replays the 200 committed records at 5 ms each: ~1 s of rebuild to look at.
        let second = ReachingHandler(warmUpDelayMicros: 5_000)
        let secondObserver = RebuildObserver()
        let processor = Mutex<StreamProcessor?>(nil)
        let seen = Mutex<(position: ConsumerPosition, at: Double)?>(nil)
        let startedAt = Date().timeIntervalSince1970
        try scenario.runProcessor(group: "rebuild-lag", maxRecords: 1_000, handler: second, observer: secondObserver, created: { created in
            processor.withLock { $0 = created }
        }) {
            // While it rebuilds (warm-ups under way, nothing handled), the first reading that knows the lag.
            let (warmed, handled) = second.state.withLock { ($0.warmedOffsets.count, $0.handledOffsets.count) }
            if warmed > 0, handled == 0, seen.withLock({ $0 == nil }), let current = processor.withLock({ $0 }) {
                let position = current.currentPosition()
                let stillRebuilding = second.state.withLock { $0.handledOffsets.isEmpty }
                if stillRebuilding, position.partitions.first?.lagRecords != nil {
                    seen.withLock { $0 = (position, Date().timeIntervalSince1970) }
                }
            }
            return secondObserver.state.withLock { !$0.rebuilds.isEmpty && $0.delivered >= scenario.backlog && $0.caughtUp > 0 }
        }
        let reading = try #require(seen.withLock { $0 }, "no reading during the rebuild knew the partition's lag")
        let partition = try #require(reading.position.partitions.first)
        #expect(partition.lagRecords == Int64(scenario.backlog), "the backlog behind the committed offset")
        #expect(partition.lastHandledTimestamp == nil)
        let snapshot = ProcessorLagSource.snapshot(reading.position)
        let waitingSince = try #require(snapshot.oldestWaitingTimestamp, "records wait, so their age is not 0")
        // At least since the assignment: after this processor started, before the reading.
        #expect(waitingSince >= startedAt - 1 && waitingSince <= reading.at, "waiting since \(waitingSince), started \(startedAt), read \(reading.at)")
        #expect(second.state.withLock { $0.handledOffsets.count } == scenario.backlog)
    }
}

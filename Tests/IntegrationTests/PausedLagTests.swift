import Foundation
@testable import StreamConsumer
import Synchronization
import Testing

/// A processor whose outputs cannot be delivered pauses fetching (back-pressure). Records that keep arriving
/// meanwhile must show in `lag_records`: librdkafka 2.0.2 updates its cached high watermark only from fetch
/// responses, and a paused partition is not fetched, so the lag read from that cache froze at its value when the
/// pause began (or shrank as acknowledgements moved the stored offset) — the "records waiting" alert could not
/// fire while the consumer was stuck behind its outputs.
@Suite(.serialized) struct PausedLagTests {
    @Test func lagRecordsGrowWhileBackPressureKeepsFetchingPaused() throws {
        let cluster = try MockCluster(brokers: 2)
        var scenario = try RebuildScenario(cluster: cluster, inputPartitions: 1, outputPartitions: 1, history: 100)
        let group = "paused-lag"
        // Inputs and the group on broker 1; outputs on broker 2, which goes down: nothing is acknowledged.
        try cluster.setLeader(topic: RebuildScenario.topics.input, partition: 0, broker: 1)
        try cluster.setCoordinator(kind: "group", key: group, broker: 1)
        try cluster.setLeader(topic: RebuildScenario.topics.output, partition: 0, broker: 2)
        try cluster.setLeader(topic: RebuildScenario.topics.deadLetter, partition: 0, broker: 2)
        try cluster.setBrokerDown(2)
        scenario.backlog = 0
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        try scenario.produce(0..<scenario.history, with: producer)

        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let processor = Mutex<StreamProcessor?>(nil)
        let readings = Mutex<[Int64]>([])
        let phase = Mutex(0)
        let more = 300
        try scenario.runProcessor(group: group, maxRecords: 0, handler: handler, observer: observer, timeoutSeconds: 90, configure: {
            $0.maxInflight = 20
        }, created: { created in
            processor.withLock { $0 = created }
        }) {
            guard let current = processor.withLock({ $0 }),
                let lag = current.currentPosition().partitions.first?.lagRecords
            else { return false }
            switch phase.withLock({ $0 }) {
            case 0:
                // Paused behind its outputs: it handled what back-pressure let in, and no more.
                let handled = handler.state.withLock { $0.handledOffsets.count }
                guard handled >= 20, lag > 0 else { return false }
                readings.withLock { $0.append(lag) }
                do {
                    try scenario.produce(scenario.history..<(scenario.history + more), with: producer)
                } catch {
                    Issue.record("producing more records failed: \(error)")
                }
                phase.withLock { $0 = 1 }
                return false
            default:
                // The new records arrive while fetching stays paused: the lag must count them — every record
                // produced beyond the next one to handle (nothing is acknowledged, so nothing is stored).
                readings.withLock { $0.append(lag) }
                let handled = handler.state.withLock { $0.handledOffsets.count }
                return lag >= Int64(scenario.history + more - handled)
            }
        }
        let seen = readings.withLock { $0 }
        let handled = handler.state.withLock { $0.handledOffsets.count }
        print("lag_records while paused: \(seen.first ?? -1) → \(seen.last ?? -1) (\(seen.count) readings, \(handled) handled)")
        #expect(seen.count >= 2, "readings: \(seen)")
        #expect((seen.last ?? 0) >= Int64(scenario.history + more - handled), "lag_records while paused: \(seen.first ?? -1) → \(seen.last ?? -1)")
        #expect(handled < scenario.history, "fetching was not paused")
        try cluster.setBrokerUp(2)
    }
}

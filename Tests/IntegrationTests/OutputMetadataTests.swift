import Foundation
import StreamConsumer
import Synchronization
import Testing

/// At start-up the engine's producer reads the metadata of every topic it writes to, while the consumer joins its
/// group: without it, librdkafka looks an unseen topic up by a once-a-second timer, and the first outputs wait in
/// its unassigned queue meanwhile (the throughput figures in docs/PERFORMANCE.md, "Session 7").
@Suite(.serialized) struct OutputMetadataTests {
    @Test func outputTopicsAreLookedUpBeforeTheFirstRecordIsHandled() throws {
        let cluster = try MockCluster(brokers: 1)
        let scenario = try RebuildScenario(cluster: cluster, inputPartitions: 2, outputPartitions: 3, history: 50)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        try scenario.produce(0..<scenario.history, with: producer)
        let handler = ReachingHandler()
        let observer = RebuildObserver()
        try scenario.runProcessor(group: "metadata", maxRecords: 1_000, handler: handler, observer: observer) {
            observer.state.withLock { $0.delivered >= scenario.history }
        }
        let entries = scenario.logs.entries.withLock { $0 }
        let read = entries.enumerated().filter { $0.element.message == "output topic metadata read" }
        let partitions = Dictionary(read.map { ($0.element.metadata["topic"] ?? "?", $0.element.metadata["partitions"] ?? "?") }) { a, _ in a }
        #expect(partitions == [RebuildScenario.topics.output: "3", RebuildScenario.topics.deadLetter: "1"])
        let consuming = entries.firstIndex { $0.message == "consuming" }
        #expect(consuming != nil)
        if let consuming { #expect(read.allSatisfy { $0.offset < consuming }, "looked up after the loop started") }
        #expect(handler.state.withLock { $0.handledOffsets.count } == scenario.history)
    }

    /// Brokers down at start: the look-up gives up within its budget, the loop starts anyway, and once the broker
    /// is back every record is answered.
    @Test func aLookUpThatFailsAtStartUpDelaysNothingBeyondItsBudget() throws {
        let cluster = try MockCluster(brokers: 1)
        let scenario = try RebuildScenario(cluster: cluster, inputPartitions: 2, outputPartitions: 3, history: 50)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        try scenario.produce(0..<scenario.history, with: producer)
        try cluster.setBrokerDown(1)
        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let restored = Mutex(false)
        let restoreFailure = Mutex<String?>(nil)
        try scenario.runProcessor(group: "metadata-down", maxRecords: 1_000, handler: handler, observer: observer) {
            let gaveUp = scenario.logs.entries.withLock { entries in
                entries.contains { $0.message.hasPrefix("output topic metadata not read") }
                    && entries.contains { $0.message == "consuming" }
            }
            if gaveUp, !restored.withLock({ $0 }) {
                restored.withLock { $0 = true }
                do { try cluster.setBrokerUp(1) } catch { restoreFailure.withLock { $0 = "\(error)" } }
            }
            return observer.state.withLock { $0.delivered >= scenario.history }
        }
        #expect(restoreFailure.withLock { $0 } == nil)
        #expect(restored.withLock { $0 }, "the start-up look-up did not give up while the broker was down")
        #expect(handler.state.withLock { Set($0.handledOffsets).count } >= 1)
        #expect(observer.state.withLock { $0.delivered } >= scenario.history)
    }
}

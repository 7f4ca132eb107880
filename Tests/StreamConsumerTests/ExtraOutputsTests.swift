import Foundation
import StreamConsumer
import Synchronization
import Testing

/// Several outputs per input through the real producer: the main output (or dead letter) plus outputs to extra
/// topics, each delivered once, and the input committed only once all of them are acknowledged.
@Suite(.serialized) struct ExtraOutputsTests {
    /// "ok" inputs: a prediction, one output to extra topic 0 and two to extra topic 1. "bad" inputs: a dead letter
    /// and one output to extra topic 1. Anything else: skipped, but still one output to extra topic 0.
    final class FanOutHandler: RecordHandler {
        let seen = Mutex<Int>(0)

        func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition {
            var extras = ExtraOutputs()
            return handle(record, output: &output, extras: &extras)
        }

        func handle(_ record: ConsumedRecord, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition {
            seen.withLock { $0 += 1 }
            let text = String(decoding: record.value, as: UTF8.self)
            let tag = "\(record.partition):\(record.offset)"
            if text.hasPrefix("ok") {
                output.removeAll(keepingCapacity: true)
                output.append(contentsOf: Array("out:\(tag)".utf8))
                extras.append(topic: ExtraTopic(0), key: "k", value: Array("shadow:\(tag)".utf8))
                extras.append(topic: ExtraTopic(1), key: "k", value: Array("outcome-a:\(tag)".utf8))
                extras.append(topic: ExtraTopic(1), key: "k", value: Array("outcome-b:\(tag)".utf8))
                return .publish(key: "k", kind: .prediction(label: 0, probability: 0.1))
            }
            if text.hasPrefix("bad") {
                extras.append(topic: ExtraTopic(1), key: "k", value: Array("outcome-a:\(tag)".utf8))
                return .deadLetter(DeadLetter(errorType: "schema_error", reason: "test"))
            }
            extras.append(topic: ExtraTopic(0), key: "k", value: Array("shadow:\(tag)".utf8))
            return .skip
        }
    }

    @Test func everyExtraOutputIsDeliveredOnceAndInputsAreCommittedAfterAllOfThem() throws {
        let cluster = try MockCluster(brokers: 1)
        let topics = StreamTopics(input: "in", output: "out", deadLetter: "dlq", extra: ["shadow", "outcomes"])
        try cluster.createTopic("in", partitions: 3)
        for topic in ["out", "dlq", "shadow", "outcomes"] { try cluster.createTopic(topic, partitions: 2) }
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        var counts = (out: 0, dlq: 0, shadow: 0, outcomes: 0)
        for index in 0..<2000 {
            let text: String
            switch index % 5 {
            case 0: text = "bad \(index)"; counts.dlq += 1; counts.outcomes += 1
            case 1: text = "skip \(index)"; counts.shadow += 1
            default: text = "ok \(index)"; counts.out += 1; counts.shadow += 1; counts.outcomes += 2
            }
            try producer.send(topic: "in", key: "key-\(index % 7)", value: Array(text.utf8))
        }
        #expect(producer.flush(timeoutMs: 30_000) == 0)

        let observer = StreamProcessorTests.RecordingObserver()
        let expectedDeliveries = counts.out + counts.dlq + counts.shadow + counts.outcomes
        try StreamProcessorTests.runProcessor(
            cluster: cluster, group: "fan-out", handler: FanOutHandler(), observer: observer, topics: topics
        ) {
            observer.state.withLock { $0.delivered == expectedDeliveries && $0.caughtUp > 0 }
        }
        for (topic, expected) in [("out", counts.out), ("dlq", counts.dlq), ("shadow", counts.shadow), ("outcomes", counts.outcomes)] {
            let records = try StreamProcessorTests.readAll(cluster, topic: topic, expected: expected)
            #expect(records.count == expected, "topic \(topic)")
            #expect(Set(records.map { $0.value }).count == expected, "a record in \(topic) was duplicated")
        }

        // Committed after all outputs: the same group reads nothing again.
        let again = FanOutHandler()
        let againObserver = StreamProcessorTests.RecordingObserver()
        try StreamProcessorTests.runProcessor(
            cluster: cluster, group: "fan-out", handler: again, observer: againObserver, topics: topics
        ) {
            againObserver.state.withLock { $0.caughtUp > 0 }
        }
        #expect(again.seen.withLock { $0 } == 0, "committed inputs were consumed again")
    }
}

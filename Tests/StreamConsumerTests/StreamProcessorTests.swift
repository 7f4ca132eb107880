import Foundation
import Logging
import StreamConsumer
import Synchronization
import Testing

/// The engine against librdkafka's real mock cluster: every input ends as exactly one output, skip or dead letter,
/// offsets are committed only after delivery, and dead letters carry their headers.
@Suite(.serialized) struct StreamProcessorTests {
    /// Publishes `"out:<offset>"` for inputs starting with "ok", dead-letters inputs starting with "bad", skips the rest.
    final class EchoHandler: RecordHandler {
        let seen = Mutex<[Int64]>([])

        func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition {
            seen.withLock { $0.append(record.offset) }
            let text = String(decoding: record.value, as: UTF8.self)
            if text.hasPrefix("ok") {
                output.removeAll(keepingCapacity: true)
                output.append(contentsOf: Array("out:\(record.partition):\(record.offset)".utf8))
                return .publish(key: "k", kind: .prediction(label: 1, probability: 0.9))
            }
            if text.hasPrefix("bad") {
                return .deadLetter(DeadLetter(errorType: "schema_error", reason: "test reason", truncateTo: text.hasPrefix("badbig") ? 8 : nil))
            }
            return .skip
        }
    }

    final class RecordingObserver: StreamObserver {
        struct State {
            var delivered = 0
            var deadLettersDelivered = 0
            var assigned = 0
            var caughtUp = 0
            /// Records covered by the catch-up summaries so far.
            var caughtUpRecords = 0
            var caughtUpSeconds = 0.0
            var commitsOK = 0
        }
        let state = Mutex(State())

        func heartbeat() {}
        func delivered(_ delivery: Delivery) {
            state.withLock {
                $0.delivered += 1
                if case .deadLetter = delivery.kind { $0.deadLettersDelivered += 1 }
            }
        }
        func deliveryFailed(kind: OutputKind, error: String) {}
        func rebalanced(_ event: RebalanceEvent, assignedPartitions: Int) { state.withLock { $0.assigned = assignedPartitions } }
        func offsetsCommitted(success: Bool, error: String?) { if success { state.withLock { $0.commitsOK += 1 } } }
        func kafkaError(_ message: String, fatal: Bool) {}
        func brokerReachability(_ reachable: Bool) {}
        func consumerStatistics(_ json: String) {}
        func producerStatistics(_ json: String) {}
        func caughtUp(_ summary: CatchUp) {
            state.withLock {
                $0.caughtUp += 1
                $0.caughtUpRecords += summary.records
                $0.caughtUpSeconds += summary.seconds
            }
        }
        func inflightChanged(_ count: Int) {}
        func backPressure(_ paused: Bool) {}
        func kafkaLog(level: Int32, facility: String, message: String) {}
    }

    static let topics = StreamTopics(input: "in", output: "out", deadLetter: "dlq")

    static func settings(group: String) -> KafkaSettings {
        KafkaSettings(
            groupId: group,
            commonProperties: [
                KafkaProperty(name: "session.timeout.ms", value: "6000", source: "test"),
                KafkaProperty(name: "heartbeat.interval.ms", value: "500", source: "test"),
            ]
        )
    }

    /// Runs a processor on its own thread until `until` holds (or 60 s pass), then stops it and waits for it.
    static func runProcessor(
        cluster: MockCluster, group: String, handler: any RecordHandler, observer: RecordingObserver,
        topics: StreamTopics = StreamProcessorTests.topics, until: @escaping () -> Bool
    ) throws {
        let processor = try StreamProcessor(
            settings: settings(group: group), bootstrapServers: cluster.bootstrapServers,
            options: StreamProcessorOptions(topics: topics), handler: handler, observer: observer,
            logger: Logger(label: "test")
        )
        let finished = Mutex(false)
        let failure = Mutex<String?>(nil)
        let thread = Thread {
            do {
                try processor.run()
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            finished.withLock { $0 = true }
        }
        thread.start()
        let satisfied = waitUntil(timeoutSeconds: 60, until)
        processor.requestStop()
        #expect(waitUntil(timeoutSeconds: 30) { finished.withLock { $0 } }, "the processor did not stop")
        #expect(satisfied, "condition not reached within the deadline")
        #expect(failure.withLock { $0 } == nil, "the processor ended with an error")
    }

    @Test func everyInputEndsAsOneOutputSkipOrDeadLetterAndOffsetsAreCommitted() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("in", partitions: 3)
        try cluster.createTopic("out", partitions: 2)
        try cluster.createTopic("dlq", partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        var expectedOutputs = 0
        var expectedDeadLetters = 0
        for index in 0..<3000 {
            let text: String
            switch index % 10 {
            case 0: text = "bad record \(index)"; expectedDeadLetters += 1
            case 1: text = "skip \(index)"
            default: text = "ok \(index)"; expectedOutputs += 1
            }
            try producer.send(topic: "in", key: "key-\(index % 7)", value: Array(text.utf8))
        }
        #expect(producer.flush(timeoutMs: 30_000) == 0)

        let handler = EchoHandler()
        let observer = RecordingObserver()
        try Self.runProcessor(cluster: cluster, group: "g1", handler: handler, observer: observer) {
            observer.state.withLock { $0.delivered == expectedOutputs + expectedDeadLetters && $0.caughtUp > 0 }
        }
        // The catch-up summaries account for every handled input (outputs, dead letters and skips) once.
        let summary = observer.state.withLock { ($0.caughtUpRecords, $0.caughtUpSeconds) }
        #expect(summary.0 == 3000)
        #expect(summary.1 > 0)

        let outputs = try Self.readAll(cluster, topic: "out", expected: expectedOutputs)
        #expect(outputs.count == expectedOutputs)
        #expect(Set(outputs.map { String(decoding: $0.value, as: UTF8.self) }).count == expectedOutputs, "an output was duplicated")
        let deadLetters = try Self.readAll(cluster, topic: "dlq", expected: expectedDeadLetters)
        #expect(deadLetters.count == expectedDeadLetters)
        if let first = deadLetters.first {
            #expect(first.headers["error_type"] == "schema_error")
            #expect(first.headers["error"] == "test reason")
            #expect(first.headers["source_topic"] == "in")
            #expect(first.headers["source_partition"] != nil)
            #expect(first.headers["source_offset"] != nil)
            #expect(String(decoding: first.value, as: UTF8.self).hasPrefix("bad record"))
            #expect(first.headers["original_size"] == nil)
        }

        // The same group again: everything was committed, so nothing is handled twice.
        let again = EchoHandler()
        let againObserver = RecordingObserver()
        try Self.runProcessor(cluster: cluster, group: "g1", handler: again, observer: againObserver) {
            againObserver.state.withLock { $0.caughtUp > 0 }
        }
        #expect(again.seen.withLock { $0.isEmpty }, "committed inputs were consumed again")
    }

    @Test func oversizeDeadLettersAreTruncatedWithTheirOriginalSize() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("in", partitions: 1)
        try cluster.createTopic("out", partitions: 1)
        try cluster.createTopic("dlq", partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        let big = "badbig" + String(repeating: "x", count: 100)
        try producer.send(topic: "in", key: "k", value: Array(big.utf8), timestampMs: 1_700_000_000_123)
        #expect(producer.flush(timeoutMs: 30_000) == 0)

        let observer = RecordingObserver()
        try Self.runProcessor(cluster: cluster, group: "g2", handler: EchoHandler(), observer: observer) {
            observer.state.withLock { $0.deadLettersDelivered == 1 }
        }
        let deadLetters = try Self.readAll(cluster, topic: "dlq", expected: 1)
        #expect(deadLetters.count == 1)
        #expect(deadLetters.first?.value == Array(big.utf8.prefix(8)))
        #expect(deadLetters.first?.headers["original_size"] == String(big.utf8.count))
        #expect(deadLetters.first?.keyString == "k")
        #expect(deadLetters.first?.timestampMs == 1_700_000_000_123)
    }

    static func readAll(_ cluster: MockCluster, topic: String, expected: Int) throws -> [ReadRecord] {
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: topic)
        try reader.start()
        var records = reader.read(timeoutSeconds: 30) { $0.count >= expected }
        records += reader.poll(timeoutMs: 300)  // anything beyond the expected count (duplicates) shows up too
        return records
    }
}

/// Polls `condition` every 20 ms until it holds or the deadline passes.
func waitUntil(timeoutSeconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

import StreamConsumer
import Testing

/// `TopicReader.replay`, which the state rebuild uses after every assignment.
@Suite struct TopicReaderReplayTests {
    static func topicWithRecords(_ count: Int) throws -> MockCluster {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("history", partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for index in 0..<count {
            try producer.send(topic: "history", key: "k", value: Array("record \(index)".utf8))
        }
        #expect(producer.flush(timeoutMs: 30_000) == 0)
        return cluster
    }

    @Test func readsExactlyTheRequestedOffsetsInOrder() throws {
        let cluster = try Self.topicWithRecords(100)
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "history")
        var offsets: [Int64] = []
        let count = try reader.replay(partition: 0, offsets: 10..<60, timeoutSeconds: 30) { offsets.append($0.offset) }
        #expect(count == 50)
        #expect(offsets == Array(10..<60))
    }

    /// A stop request during a rebuild must not wait for the rebuild's timeout (SIGTERM → exit promptly), even
    /// when the broker does not answer.
    @Test func cancellationEndsAReplayThatWouldOtherwiseWaitForItsTimeout() throws {
        let cluster = try Self.topicWithRecords(20)
        try cluster.setBrokerDown(1)
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "history")
        let started = Clock.monotonicNanos()
        var seen = 0
        // With the only broker down nothing arrives: without cancellation this would wait the full 600 s.
        let count = try reader.replay(
            partition: 0, offsets: 0..<20, timeoutSeconds: 600,
            isCancelled: { Clock.monotonicNanos() - started > 500_000_000 }
        ) { _ in seen += 1 }
        let seconds = Double(Clock.monotonicNanos() - started) / 1e9
        #expect(count == 0 && seen == 0)
        #expect(seconds < 120, "replay ignored the cancellation and ran \(seconds) s")
    }
}

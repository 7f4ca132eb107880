import Crdkafka
import Foundation
@testable import StreamConsumer
import Testing

/// Reading where partitions' logs end, on librdkafka's mock cluster, with a broker down.
@Suite struct LogEndQueryTests {
    private static let topic = "ends"

    /// A consumer handle of the kind the engine looks up on (no subscription needed to ask for offsets).
    private final class Consumer {
        let pointer: OpaquePointer
        init(bootstrap: String) throws {
            var conf = KafkaConf()
            try conf.set("bootstrap.servers", bootstrap, source: "test")
            try conf.set("group.id", "log-end-query-test", source: "test")
            try conf.set("log_level", "3", source: "test")
            pointer = try conf.makeClient(RD_KAFKA_CONSUMER, operation: "create the test consumer")
        }
        deinit { rd_kafka_destroy(pointer) }
    }

    /// Six partitions led by three brokers (partition p by broker p % 3 + 1), 600 keyed records spread over them.
    private func cluster() throws -> MockCluster {
        let cluster = try MockCluster(brokers: 3)
        try cluster.createTopic(Self.topic, partitions: 6)
        for partition in Int32(0)..<6 { try cluster.setLeader(topic: Self.topic, partition: partition, broker: partition % 3 + 1) }
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for index in 0..<600 { try producer.send(topic: Self.topic, key: "product-\(index)", value: Array("\(index)".utf8)) }
        #expect(producer.flush(timeoutMs: 60_000) == 0)
        return cluster
    }

    /// The log starts asked for with the ends (for the lag of partitions that never delivered: nothing handled,
    /// nothing committed, `auto.offset.reset` earliest) come back for exactly those partitions, and the ends are
    /// the same as without them.
    @Test func startsAreReadForThePartitionsAskedFor() throws {
        let cluster = try cluster()
        let consumer = try Consumer(bootstrap: cluster.bootstrapServers)
        let partitions = Array(Int32(0)..<6)
        let plain = LogEndQuery.ends(client: consumer.pointer, topic: Self.topic, partitions: partitions, timeoutMs: 10_000)
        let both = LogEndQuery.ends(client: consumer.pointer, topic: Self.topic, partitions: partitions, starts: [1, 4], timeoutMs: 10_000)
        #expect(plain.starts.isEmpty)
        #expect(both.ends == plain.ends)
        // Nothing was deleted from the mock's logs: they start at offset 0.
        #expect(both.starts == [1: 0, 4: 0], "\(both.starts)")
        #expect(both.ends[1].map { $0 > 0 } == true && both.ends[4].map { $0 > 0 } == true)
    }

    /// With broker 2 down (leader of partitions 1 and 4) the starts of the partitions other brokers lead are still
    /// read (one call for all of them read none before), and those whose end could not be read are not asked for
    /// (a start is of no use without its end, and asking would wait for the down leader again).
    @Test func startsAreReadWhereTheEndsAreWhenABrokerIsDown() throws {
        let cluster = try cluster()
        let consumer = try Consumer(bootstrap: cluster.bootstrapServers)
        try cluster.setBrokerDown(2)
        let partial = LogEndQuery.ends(
            client: consumer.pointer, topic: Self.topic, partitions: [0, 1, 2, 4], starts: [0, 1, 2, 4], timeoutMs: 2_000)
        #expect(partial.failed == [1, 4])
        #expect(partial.ends.keys.sorted() == [0, 2])
        #expect(partial.starts == [0: 0, 2: 0], "\(partial.starts)")
    }

    /// A start that retention moved is read where it is now (the broker's side of reading starts on every
    /// look-up; ``KnownWatermarkTests`` has the lag's). The mock broker keeps 5 MiB per partition (librdkafka
    /// 2.0.2, `rdkafka_mock.c`) and deletes whole message sets (batches of up to 1 MB) beyond that: 8 MiB moves
    /// the start past 0, and keeps at least 5 MiB (80 records of 64 KiB) less one batch.
    @Test func startMovedByRetentionIsReadWhereItIsNow() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("retained", partitions: 1)
        let consumer = try Consumer(bootstrap: cluster.bootstrapServers)
        let before = LogEndQuery.ends(client: consumer.pointer, topic: "retained", partitions: [0], starts: [0], timeoutMs: 10_000)
        #expect(before.starts == [0: 0] && before.ends == [0: 0], "\(before)")
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        let value = [UInt8](repeating: 0x61, count: 64 * 1024)
        for index in 0..<128 { try producer.send(topic: "retained", key: "k\(index)", value: value) }
        #expect(producer.flush(timeoutMs: 60_000) == 0)
        let after = LogEndQuery.ends(client: consumer.pointer, topic: "retained", partitions: [0], starts: [0], timeoutMs: 10_000)
        #expect(after.ends == [0: 128], "\(after)")
        let start = after.starts[0] ?? -1
        #expect(start > 0 && start <= 128 - 64, "the log start after 8 MiB into a 5 MiB log: \(start)")
    }

    /// librdkafka's call is all or nothing across leaders: with one broker down, one call for every partition
    /// reads none. Asked again leader by leader, only the partitions that broker leads are missing.
    @Test func oneBrokerDownCostsOnlyTheEndsOfThePartitionsItLeads() throws {
        let cluster = try cluster()
        let consumer = try Consumer(bootstrap: cluster.bootstrapServers)
        let partitions = Array(Int32(0)..<6)
        let all = LogEndQuery.ends(client: consumer.pointer, topic: Self.topic, partitions: partitions, timeoutMs: 10_000)
        #expect(all.failed == [])
        #expect(all.ends.keys.sorted() == partitions)
        #expect(all.ends.values.reduce(0, +) == 600, "every record is below its partition's end: \(all.ends)")

        try cluster.setBrokerDown(2)
        let once = LogEndQuery.ask(client: consumer.pointer, topic: Self.topic, partitions: partitions, timeoutMs: 2_000)
        #expect(once.ends.isEmpty, "one call with a leader down read \(once.ends)")
        #expect(once.error != nil)

        let partial = LogEndQuery.ends(client: consumer.pointer, topic: Self.topic, partitions: partitions, timeoutMs: 2_000)
        #expect(partial.failed == [1, 4])
        #expect(partial.ends == all.ends.filter { $0.key % 3 != 1 })
        #expect(partial.error != nil)

        try cluster.setBrokerUp(2)
        var again = LogEnds()
        #expect(waitUntil(timeoutSeconds: 60) {
            again = LogEndQuery.ends(client: consumer.pointer, topic: Self.topic, partitions: partitions, timeoutMs: 2_000)
            return again.failed.isEmpty
        }, "ends still not read after broker 2 came back: \(again)")
        #expect(again.ends == all.ends)
    }

    /// With no partition to look up, the look-up still says whether a broker answers (how an idle daemon with
    /// nothing assigned learns that the brokers are back).
    @Test func withoutPartitionsTheLookUpSaysWhetherABrokerAnswers() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic(Self.topic, partitions: 1)
        let consumer = try Consumer(bootstrap: cluster.bootstrapServers)
        let up = LogEndQuery.ends(client: consumer.pointer, topic: Self.topic, partitions: [], timeoutMs: 10_000)
        #expect(up.answered && up.error == nil && up.ends.isEmpty && up.failed.isEmpty)
        try cluster.setBrokerDown(1)
        let before = Clock.monotonicNanos()
        let down = LogEndQuery.ends(client: consumer.pointer, topic: Self.topic, partitions: [], timeoutMs: 1_000)
        #expect(!down.answered)
        #expect(down.error != nil)
        #expect(down.startedNanos >= before, "startedNanos is when the look-up started")
    }

    /// A stop request between calls ends the look-up: what was not asked is reported failed, not waited for.
    @Test func stopRequestEndsTheLeaderByLeaderLookUp() throws {
        let cluster = try cluster()
        let consumer = try Consumer(bootstrap: cluster.bootstrapServers)
        try cluster.setBrokerDown(3)
        let stopped = LogEndQuery.ends(
            client: consumer.pointer, topic: Self.topic, partitions: Array(Int32(0)..<6), timeoutMs: 2_000,
            shouldContinue: { false })
        #expect(stopped.ends.isEmpty)
        #expect(stopped.failed == Array(Int32(0)..<6))
    }
}

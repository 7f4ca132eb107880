import StreamConsumer
import Testing

/// ``KeyPartitioner`` predicts where librdkafka's producer put a keyed record, and ``TopicReader/stream(_:timeoutSeconds:_:)``
/// reads partitions between given offsets.
@Suite struct KeyPartitionerTests {
    @Test func predictsThePartitionTheDefaultProducerChose() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("keyed", partitions: 7)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        let keys = (0..<200).map { "product-\($0)" }
        for key in keys { try producer.send(topic: "keyed", key: key, value: Array(key.utf8)) }
        #expect(producer.flush(timeoutMs: 30_000) == 0)

        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "keyed")
        let extents = try reader.extents()
        #expect(extents.count == 7)
        var placed: [String: Int32] = [:]
        let read = try reader.stream(extents, timeoutSeconds: 60) { streamed in
            placed[String(decoding: streamed.record.value, as: UTF8.self)] = streamed.record.partition
        }
        #expect(read == keys.count)
        let partitioner = try #require(KeyPartitioner(properties: []))
        #expect(partitioner == .consistentRandom)
        for key in keys {
            #expect(partitioner.partition(forKey: key, partitionCount: 7) == placed[key], "\(key)")
        }
        // The records spread: a partitioner that always answered 0 would have failed above, unless all were there.
        #expect(Set(placed.values).count > 1)
        #expect(partitioner.partition(forKey: nil as String?, partitionCount: 7) == nil, "no key: random, unknown")
        #expect(KeyPartitioner.consistent.partition(forKey: nil as String?, partitionCount: 7) != nil)
        #expect(KeyPartitioner(properties: [KafkaProperty(name: "partitioner", value: "murmur2", source: "test")]) == .murmur2)
        #expect(KeyPartitioner(properties: [KafkaProperty(name: "partitioner", value: "bogus", source: "test")]) == nil)
    }

    @Test func streamReadsEachPartitionBetweenTheGivenOffsetsInOrder() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("ranges", partitions: 2)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for index in 0..<100 { try producer.send(topic: "ranges", key: "k\(index % 10)", value: Array("\(index)".utf8)) }
        #expect(producer.flush(timeoutMs: 30_000) == 0)
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "ranges")
        let extents = try reader.extents()
        #expect(extents.map(\.count).reduce(0, +) == 100)
        let partial = extents.filter { $0.count >= 20 }.map { PartitionExtent(partition: $0.partition, low: 10, high: $0.high - 5) }
        #expect(!partial.isEmpty)
        var seen: [Int32: [Int64]] = [:]
        let read = try reader.stream(partial, timeoutSeconds: 60) { seen[$0.record.partition, default: []].append($0.record.offset) }
        #expect(read == partial.map(\.count).reduce(0, +))
        for extent in partial { #expect(seen[extent.partition] == Array(10..<extent.high)) }
    }

    /// A read that stalls (the broker went away) ends with an error after the patience, never with a silently
    /// partial result.
    @Test func aStalledStreamThrowsInsteadOfReturningPartOfTheTopic() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("stalled", partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for index in 0..<10 { try producer.send(topic: "stalled", key: "k", value: Array("\(index)".utf8)) }
        #expect(producer.flush(timeoutMs: 30_000) == 0)
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "stalled")
        let extents = try reader.extents()
        try cluster.setBrokerDown(1)
        var seen = 0
        #expect(throws: KafkaError.self) {
            _ = try reader.stream(extents, timeoutSeconds: 2) { _ in seen += 1 }
        }
        #expect(seen == 0)
    }
}

import StreamConsumer

/// The embedded default: librdkafka's mock cluster in this process with the daemon's topics created.
enum EmbeddedCluster {
    static func start(topics: StreamTopics) throws(KafkaError) -> MockCluster {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic(topics.input, partitions: 4)
        try cluster.createTopic(topics.output, partitions: 4)
        try cluster.createTopic(topics.deadLetter, partitions: 1)
        for topic in topics.extra { try cluster.createTopic(topic, partitions: 4) }
        return cluster
    }
}

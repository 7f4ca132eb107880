import Crdkafka

/// What `consumerd check` asks the brokers: which topics exist, with how many partitions. Connects with the daemon's
/// own consumer properties (so security settings are exercised) but joins no group and creates nothing: the
/// metadata request lists all topics instead of naming ours, which would let brokers auto-create them.
public enum ClusterProbe {
    /// Validates the producer's properties with librdkafka (no client is created).
    public static func validateProducerProperties(_ properties: [KafkaProperty]) throws(ConfigurationError) {
        var conf = KafkaConf()
        for property in properties { try conf.set(property) }
    }

    /// Topic name → partition count, as the cluster reports it within `timeoutMs`.
    ///
    /// - Throws: ``ConfigurationError`` when librdkafka rejects a property (a configuration problem),
    ///   ``KafkaError`` when the brokers cannot be reached or do not answer in time.
    public static func topics(consumerProperties: [KafkaProperty], timeoutMs: Int32) throws -> [String: Int] {
        var conf = KafkaConf()
        for property in consumerProperties { try conf.set(property) }
        // Quiet: the outcome is reported by the caller, not by librdkafka's connection logs.
        try conf.set("log_level", "0", source: "consumerd")
        let client = try conf.makeClient(RD_KAFKA_CONSUMER, operation: "create a client to check the cluster")
        defer { rd_kafka_destroy(client) }
        let operation = "read the cluster's metadata from \(bootstrap(consumerProperties))"
        return try TopicMetadata.read(client: client, topic: nil, timeoutMs: timeoutMs, operation: operation) { metadata in
            var topics: [String: Int] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                topics[string(fromC: topic.topic)] = Int(topic.partition_cnt)
            }
            return topics
        }
    }

    private static func bootstrap(_ properties: [KafkaProperty]) -> String {
        properties.last { $0.name == "bootstrap.servers" }?.value ?? "?"
    }
}

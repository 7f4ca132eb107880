import Crdkafka

/// Metadata look-ups shared by the clients.
enum TopicMetadata {
    /// The partition count the cluster reports for `topic`. Asked by a producer, this also makes brokers with topic
    /// auto-creation create it.
    static func partitionCount(client: OpaquePointer, topic: String, timeoutMs: Int32) throws(KafkaError) -> Int {
        let operation = "read metadata of \(topic)"
        return try read(client: client, topic: topic, timeoutMs: timeoutMs, operation: operation) { metadata throws(KafkaError) in
            guard metadata.pointee.topic_cnt > 0 else { return 0 }
            let topicMetadata = metadata.pointee.topics[0]
            guard topicMetadata.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(operation: operation, error: topicMetadata.err)
            }
            return Int(topicMetadata.partition_cnt)
        }
    }

    /// Each partition of `topic` → its leader broker id (-1: none).
    static func partitionLeaders(client: OpaquePointer, topic: String, timeoutMs: Int32) throws(KafkaError) -> [Int32: Int32] {
        try read(client: client, topic: topic, timeoutMs: timeoutMs, operation: "read the partition leaders of \(topic)") { metadata in
            var leaders: [Int32: Int32] = [:]
            for topicIndex in 0..<Int(metadata.pointee.topic_cnt) {
                let topicMetadata = metadata.pointee.topics[topicIndex]
                for index in 0..<Int(topicMetadata.partition_cnt) {
                    let partition = topicMetadata.partitions[index]
                    leaders[partition.id] = partition.leader
                }
            }
            return leaders
        }
    }

    /// One metadata request (for `topic`, or every topic when `nil`), its answer read by `body` and freed after.
    static func read<Answer>(
        client: OpaquePointer, topic: String?, timeoutMs: Int32, operation: String,
        _ body: (UnsafePointer<rd_kafka_metadata>) throws(KafkaError) -> Answer
    ) throws(KafkaError) -> Answer {
        let topicHandle = topic.map { rd_kafka_topic_new(client, $0, nil) } ?? nil
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(client, topicHandle == nil ? 1 : 0, topicHandle, &metadata, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(operation: operation, error: error)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return try body(metadata)
    }
}

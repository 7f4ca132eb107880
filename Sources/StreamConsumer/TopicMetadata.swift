import Crdkafka

/// Metadata look-ups shared by the clients.
enum TopicMetadata {
    /// The partition count the cluster reports for `topic`. Asked by a producer, this also makes brokers with topic
    /// auto-creation create it.
    static func partitionCount(client: OpaquePointer, topic: String, timeoutMs: Int32) throws(KafkaError) -> Int {
        let topicHandle = rd_kafka_topic_new(client, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(client, 0, topicHandle, &metadata, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(operation: "read metadata of \(topic)", error: error)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return 0 }
        let topicMetadata = metadata.pointee.topics[0]
        guard topicMetadata.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "read metadata of \(topic)", error: topicMetadata.err)
        }
        return Int(topicMetadata.partition_cnt)
    }
}

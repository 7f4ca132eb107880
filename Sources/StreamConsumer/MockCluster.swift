import Crdkafka

/// librdkafka's in-process mock Kafka cluster (`rdkafka_mock.h`): the real Kafka protocol on loopback sockets,
/// for the embedded default, `consumerd mock-cluster` and tests. It lives as long as this object.
///
/// Limits (librdkafka 2.0.2): about 5 MiB retained per partition, no offset lookup by time, transactional offset
/// commits accepted but not stored.
public final class MockCluster: @unchecked Sendable {
    private let client: OpaquePointer
    private let cluster: OpaquePointer
    /// Comma-separated `host:port` list for `bootstrap.servers`.
    public let bootstrapServers: String

    /// Starts `brokers` mock brokers on random loopback ports.
    public init(brokers: Int = 1) throws(KafkaError) {
        var conf = KafkaConf()
        // The helper client only hosts the cluster; keep it quiet about having no brokers of its own.
        try? conf.set("log_level", "3", source: "consumerd")
        let client = try conf.makeClient(RD_KAFKA_PRODUCER, operation: "create the mock cluster's host client")
        guard let cluster = rd_kafka_mock_cluster_new(client, Int32(brokers)) else {
            rd_kafka_destroy(client)
            throw KafkaError(operation: "start the mock cluster", message: "rd_kafka_mock_cluster_new returned no cluster")
        }
        self.client = client
        self.cluster = cluster
        self.bootstrapServers = string(fromC: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(client)
    }

    /// Creates a topic (the mock does not support the Admin API's CreateTopics).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let error = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "create topic \(name)", error: error)
        }
    }

    /// Takes a broker down (connections closed, new ones refused) until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ broker: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_down(cluster, broker), "take broker \(broker) down")
    }

    public func setBrokerUp(_ broker: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_up(cluster, broker), "bring broker \(broker) up")
    }

    /// Moves a partition's leadership to `broker`.
    public func setLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker), "move leader of \(topic) [\(partition)]")
    }

    /// Makes `broker` the coordinator of a consumer group (`kind` "group") or transactional id (`kind` "transaction").
    public func setCoordinator(kind: String, key: String, broker: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_coordinator_set(cluster, kind, key, broker), "set the \(kind) coordinator of \(key)")
    }

    /// Makes the next `count` requests with the given API key (Produce 0, Fetch 1, OffsetCommit 8, JoinGroup 11, …)
    /// fail with `errorCode`.
    public func pushRequestErrors(apiKey: Int16, errorCode: Int32, count: Int) {
        var errors = [rd_kafka_resp_err_t](repeating: rd_kafka_resp_err_t(rawValue: errorCode), count: count)
        errors.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    private func check(_ error: rd_kafka_resp_err_t, _ operation: String) throws(KafkaError) {
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(operation: operation, error: error) }
    }
}

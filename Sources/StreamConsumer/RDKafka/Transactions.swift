import Crdkafka

/// librdkafka's transactional producer calls, each turned into a Swift result.
enum Transactions {
    /// Bound of each transactional call made from the loop: two in a row stay inside the 30 s liveness window. A
    /// retriable timeout is tried again at the next tick.
    static var callTimeoutMs: Int32 { 10_000 }

    static func initialize(_ producer: OpaquePointer, transactionalId: String) throws(KafkaError) {
        if let error = rd_kafka_init_transactions(producer, 60_000) {
            throw KafkaError(operation: "initialise transactions (transactional.id \(transactionalId))", consuming: error)
        }
    }

    /// `nil` on success; a begin failure is always fatal for the producer.
    static func begin(_ producer: OpaquePointer) -> KafkaError? {
        rd_kafka_begin_transaction(producer).map { KafkaError(operation: "begin a transaction", consuming: $0) }
    }

    /// What a commit attempt ended in.
    enum CommitOutcome {
        case committed
        case retriable(String)
        case abortRequired(String)
        case fatal(KafkaError)
    }

    /// Sends `positions` (next offsets of `topic`) with the open transaction and commits it.
    static func commit(
        producer: OpaquePointer, consumer: OpaquePointer, topic: String, positions: [PartitionOffset]
    ) -> CommitOutcome {
        var failure: OpaquePointer?
        if !positions.isEmpty {
            let list = PartitionList(topic: topic, offsets: positions)
            let metadata = rd_kafka_consumer_group_metadata(consumer)
            failure = list.withPointer { rd_kafka_send_offsets_to_transaction(producer, $0, metadata, Self.callTimeoutMs) }
            rd_kafka_consumer_group_metadata_destroy(metadata)
        }
        if failure == nil {
            failure = rd_kafka_commit_transaction(producer, Self.callTimeoutMs)
        }
        guard let failure else { return .committed }
        let message = string(fromC: rd_kafka_error_string(failure))
        if rd_kafka_error_is_fatal(failure) != 0 {
            return .fatal(KafkaError(operation: "commit a transaction", consuming: failure))
        }
        let requiresAbort = rd_kafka_error_txn_requires_abort(failure) != 0
        rd_kafka_error_destroy(failure)
        return requiresAbort ? .abortRequired(message) : .retriable(message)
    }

    /// `nil` on success.
    static func abort(_ producer: OpaquePointer) -> KafkaError? {
        rd_kafka_abort_transaction(producer, Self.callTimeoutMs).map { KafkaError(operation: "abort a transaction", consuming: $0) }
    }
}

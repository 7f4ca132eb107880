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
        /// Timed out (or otherwise retriable): call again. `offsetsSent`: the offsets went with the transaction
        /// already, so the next attempt resumes `rd_kafka_commit_transaction` alone — calling
        /// `rd_kafka_send_offsets_to_transaction` while a commit is under way fails with `__CONFLICT` for ever.
        case retriable(String, offsetsSent: Bool)
        case abortRequired(String)
        case fatal(KafkaError)
    }

    /// Sends `positions` (next offsets of `topic`) with the open transaction, unless `offsetsSent` says an
    /// earlier attempt did, and commits it.
    static func commit(
        producer: OpaquePointer, consumer: OpaquePointer, topic: String, positions: [PartitionOffset], offsetsSent: Bool
    ) -> CommitOutcome {
        if !offsetsSent, !positions.isEmpty {
            let list = PartitionList(topic: topic, offsets: positions)
            let metadata = rd_kafka_consumer_group_metadata(consumer)
            let failure = list.withPointer { rd_kafka_send_offsets_to_transaction(producer, $0, metadata, Self.callTimeoutMs) }
            rd_kafka_consumer_group_metadata_destroy(metadata)
            if let failure { return outcome(of: failure, operation: "send offsets with a transaction", offsetsSent: false) }
        }
        guard let failure = rd_kafka_commit_transaction(producer, Self.callTimeoutMs) else { return .committed }
        return outcome(of: failure, operation: "commit a transaction", offsetsSent: true)
    }

    /// librdkafka's classification, in the order its transactions example checks it: fatal, then abortable,
    /// then retriable; an error that is none of them is fatal.
    private static func outcome(of failure: OpaquePointer, operation: String, offsetsSent: Bool) -> CommitOutcome {
        if rd_kafka_error_is_fatal(failure) != 0 {
            return .fatal(KafkaError(operation: operation, consuming: failure))
        }
        if rd_kafka_error_txn_requires_abort(failure) != 0 {
            let message = string(fromC: rd_kafka_error_string(failure))
            rd_kafka_error_destroy(failure)
            return .abortRequired(message)
        }
        if rd_kafka_error_is_retriable(failure) != 0 {
            let message = string(fromC: rd_kafka_error_string(failure))
            rd_kafka_error_destroy(failure)
            return .retriable(message, offsetsSent: offsetsSent)
        }
        return .fatal(KafkaError(operation: operation, consuming: failure))
    }

    /// What an abort attempt ended in.
    enum AbortOutcome {
        case aborted
        /// Timed out: librdkafka goes on in the background; calling again resumes it.
        case retriable(String)
        case fatal(KafkaError)
    }

    static func abort(_ producer: OpaquePointer) -> AbortOutcome {
        guard let failure = rd_kafka_abort_transaction(producer, Self.callTimeoutMs) else { return .aborted }
        if rd_kafka_error_is_fatal(failure) == 0, rd_kafka_error_is_retriable(failure) != 0 {
            let message = string(fromC: rd_kafka_error_string(failure))
            rd_kafka_error_destroy(failure)
            return .retriable(message)
        }
        return .fatal(KafkaError(operation: "abort a transaction", consuming: failure))
    }
}

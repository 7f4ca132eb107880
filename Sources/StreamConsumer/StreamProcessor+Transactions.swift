import Crdkafka

/// The open transaction of the exactly-once mode.
struct TransactionState {
    var open = false
    /// Input records handled in this transaction.
    var records = 0
    var startedNanos: UInt64 = 0
    /// Next input offset per partition consumed in this transaction: committed with it.
    var positions: [Int32: Int64] = [:]
    /// A delivery inside it failed: it must abort.
    var failed = false
}

/// Exactly-once: outputs and the input offsets that produced them are committed in one Kafka transaction
/// (`rd_kafka_send_offsets_to_transaction`). An aborted transaction rewinds its partitions to the last committed
/// offsets and rebuilds state from there, so nothing is skipped and nothing is published twice to a
/// `read_committed` reader.
extension StreamProcessor {
    var isExactlyOnce: Bool {
        if case .exactlyOnce = options.guarantee { return true }
        return false
    }

    private var exactlyOnceOptions: ExactlyOnceOptions? {
        if case .exactlyOnce(let eos) = options.guarantee { return eos }
        return nil
    }

    func initTransactionsIfNeeded() throws(KafkaError) {
        guard let eos = exactlyOnceOptions else { return }
        if let error = rd_kafka_init_transactions(producer, 60_000) {
            let failure = KafkaError(operation: "initialise transactions (transactional.id \(eos.transactionalId))", code: rd_kafka_error_code(error).rawValue, message: string(fromC: rd_kafka_error_string(error)))
            rd_kafka_error_destroy(error)
            throw failure
        }
        logger.info("exactly-once mode: transactions initialised", metadata: ["transactional_id": "\(eos.transactionalId)"])
    }

    func beginTransactionIfNeeded() {
        guard !transaction.open else { return }
        if let error = rd_kafka_begin_transaction(producer) {
            fail(error, operation: "begin a transaction")
            return
        }
        transaction = TransactionState(open: true, records: 0, startedNanos: Clock.monotonicNanos(), positions: [:], failed: false)
    }

    /// Commits when the transaction is big or old enough, or the input went idle.
    func commitTransactionIfDue(idle: Bool) {
        guard let eos = exactlyOnceOptions, transaction.open else { return }
        let ageMillis = Int((Clock.monotonicNanos() &- transaction.startedNanos) / 1_000_000)
        if transaction.failed || idle || transaction.records >= eos.maxRecordsPerTransaction || ageMillis >= eos.maxTransactionMillis {
            commitTransaction()
        }
    }

    /// Sends the consumed positions with the transaction and commits it; aborts and rewinds on failure.
    func commitTransaction() {
        guard transaction.open else { return }
        guard !transaction.failed else {
            abortTransaction(rewind: true)
            return
        }
        let list = rd_kafka_topic_partition_list_new(Int32(max(transaction.positions.count, 1)))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in transaction.positions {
            rd_kafka_topic_partition_list_add(list, options.topics.input, partition)?.pointee.offset = offset
        }
        var failure: OpaquePointer?
        if !transaction.positions.isEmpty {
            let metadata = rd_kafka_consumer_group_metadata(consumer)
            failure = rd_kafka_send_offsets_to_transaction(producer, list, metadata, 30_000)
            rd_kafka_consumer_group_metadata_destroy(metadata)
        }
        if failure == nil {
            failure = rd_kafka_commit_transaction(producer, 30_000)
        }
        rd_kafka_poll(producer, 0)  // delivery reports of the committed outputs
        guard let failure else {
            transaction = TransactionState()
            observer.offsetsCommitted(success: true, error: nil)
            return
        }
        let message = string(fromC: rd_kafka_error_string(failure))
        observer.offsetsCommitted(success: false, error: message)
        if rd_kafka_error_is_fatal(failure) != 0 {
            fail(failure, operation: "commit a transaction")
        } else if rd_kafka_error_txn_requires_abort(failure) != 0 {
            rd_kafka_error_destroy(failure)
            logger.warning("transaction failed; aborting and reprocessing its inputs", metadata: ["error": "\(message)"])
            abortTransaction(rewind: true)
        } else {
            // Retriable: the same commit is attempted again on the next loop iteration.
            rd_kafka_error_destroy(failure)
            logger.warning("transaction commit will be retried", metadata: ["error": "\(message)"])
        }
    }

    /// Aborts the open transaction. With `rewind`, its partitions go back to their committed offsets and the
    /// per-key state is rebuilt up to there, as after a restart.
    func abortTransaction(rewind: Bool) {
        guard transaction.open else { return }
        let partitions = Array(transaction.positions.keys)
        if let error = rd_kafka_abort_transaction(producer, 30_000) {
            fail(error, operation: "abort a transaction")
            return
        }
        rd_kafka_poll(producer, 0)
        transaction = TransactionState()
        guard rewind, !partitions.isEmpty else { return }
        rewindPartitions(partitions)
    }

    private func rewindPartitions(_ partitions: [Int32]) {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions { rd_kafka_topic_partition_list_add(list, options.topics.input, partition) }
        let error = rd_kafka_committed(consumer, list, 30_000)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            fatalClientError = KafkaError(operation: "read committed offsets to rewind after an aborted transaction", error: error)
            return
        }
        dropBacklog(for: Set(partitions))
        for index in 0..<Int(list.pointee.cnt) {
            let partition = list.pointee.elems[index].partition
            if list.pointee.elems[index].offset < 0 {
                list.pointee.elems[index].offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
            generation &+= 1
            progress[partition] = PartitionProgress(generation: generation)
            position[partition] = max(list.pointee.elems[index].offset, 0)
        }
        if let seekError = rd_kafka_seek_partitions(consumer, list, 30_000) {
            fail(seekError, operation: "rewind after an aborted transaction")
            return
        }
        rebuildState(newPartitions: nil, retained: Array(progress.keys))
        logger.info("rewound to the committed offsets after an aborted transaction", metadata: ["partitions": "\(partitions.sorted())"])
    }

    private func fail(_ error: OpaquePointer, operation: String) {
        fatalClientError = KafkaError(operation: operation, code: rd_kafka_error_code(error).rawValue, message: string(fromC: rd_kafka_error_string(error)))
        observer.kafkaError("\(operation): \(string(fromC: rd_kafka_error_string(error)))", fatal: true)
        rd_kafka_error_destroy(error)
    }
}

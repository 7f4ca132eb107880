import Crdkafka

/// Executes the engine's actions with librdkafka and feeds the results back as events.
extension EngineDriver {
    func execute(_ actions: [EngineAction]) {
        for action in actions { execute(action) }
    }

    private func execute(_ action: EngineAction) {
        let topic = options.topics.input
        switch action {
        case .pause(let ids):
            let list = PartitionList(topic: topic, partitions: ids)
            list.withPointer { _ = rd_kafka_pause_partitions(consumer, $0) }
        case .resume(let ids):
            let list = PartitionList(topic: topic, partitions: ids)
            list.withPointer { _ = rd_kafka_resume_partitions(consumer, $0) }
            logger.debug("partitions resumed", metadata: ["partitions": "\(ids)"])
        case .lookUpCommitted(let ids):
            let found = lookUpCommitted(ids)
            execute(engine.committedOffsets(found.offsets, failed: found.failed, now: Clock.monotonicNanos()))
        case .seek(let offsets):
            let list = PartitionList(topic: topic, offsets: offsets)
            // Asynchronous (timeout 0): the partitions are paused, the new position applies when they resume.
            if let error = list.withPointer({ rd_kafka_seek_partitions(consumer, $0, 0) }) {
                fail(KafkaError(operation: "move \(topic) \(offsets) back", consuming: error))
            }
        case .restartFetch(let offsets):
            restartFetch(offsets)
        case .assignAgain(let ids, let repair):
            logFetcherRepair(ids, repair)
            // After the pass has polled the consumer (``repairFetchers()``).
            fetchRepairs.formUnion(ids)
        case .lookUpEnds(let ids):
            lookUpEndsForWatch(ids)
        case .resetState(let ids):
            quiesceStage()
            handler.resetState(partitions: Set(ids))
        case .rebuild(let partition, let before):
            quiesceStage()
            if let nothing = rebuilder.enqueue(partition: partition, end: before, reachSeconds: handler.stateReachSeconds) {
                rebuildFinished(nothing)
            }
        case .produceAgain(let slot):
            guard let retry = retries[slot] else {
                engine.reproduced(slot: slot, accepted: true, now: Clock.monotonicNanos())
                return
            }
            let error = retry.produce(producer)
            let accepted = error == RD_KAFKA_RESP_ERR_NO_ERROR
            engine.reproduced(slot: slot, accepted: accepted, now: Clock.monotonicNanos())
            if accepted {
                retries[slot] = nil
                logger.info("re-produced an output after a failed delivery", metadata: ["topic": "\(retry.topic.string)"])
            } else if error != RD_KAFKA_RESP_ERR__QUEUE_FULL, let record = engine.outputs.peek(slot) {
                observer.deliveryFailed(kind: record.kind, error: KafkaError.text(error))
            }
        case .dropRetry(let slot):
            retries.removeValue(forKey: slot)?.release()
        case .storeOffsets(let offsets):
            let list = PartitionList(topic: topic, offsets: offsets)
            let error = list.withPointer { rd_kafka_offsets_store(consumer, $0) }
            if error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR__STATE {
                observer.kafkaError("store offsets: \(KafkaError.text(error))", fatal: false)
            }
        case .commitOffsets(let offsets):
            let list = PartitionList(topic: topic, offsets: offsets)
            // Asynchronous: the result arrives in the commit callback.
            let error = list.withPointer { rd_kafka_commit(consumer, $0, 1) }
            if error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR__NO_OFFSET {
                logger.warning("offset commit failed", metadata: ["error": "\(KafkaError.text(error))"])
            }
        case .commitTransaction(let positions):
            commitTransaction(positions)
        case .abortTransaction:
            abortTransaction()
        case .backPressure(let paused):
            observer.backPressure(paused)
            logger.log(level: paused ? .warning : .info, paused ? "fetching paused: outputs are backing up" : "fetching resumed", metadata: [
                "inflight": "\(engine.inflightCount)", "retrying": "\(engine.retrySlots.count)",
            ])
        }
    }

    /// The group's committed offsets (`nil`: none), and the partitions whose look-up failed (also `nil`). A newly
    /// assigned partition whose look-up failed starts with empty state where `auto.offset.reset` says; the
    /// engine rewinds an aborted transaction's partition to the transaction's first offset instead.
    private func lookUpCommitted(_ ids: [Int32]) -> (offsets: [Int32: Int64?], failed: Set<Int32>) {
        let list = PartitionList(topic: options.topics.input, partitions: ids)
        let error = list.withPointer { rd_kafka_committed(consumer, $0, Self.committedLookUpTimeoutMs) }
        var offsets: [Int32: Int64?] = [:]
        var failed: Set<Int32> = []
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            for entry in list.entries {
                let ok = entry.error == RD_KAFKA_RESP_ERR_NO_ERROR
                offsets[entry.partition] = .some(ok && entry.offset >= 0 ? entry.offset : nil)
                if !ok { failed.insert(entry.partition) }
            }
        }
        for id in ids where offsets[id] == nil {
            offsets[id] = .some(nil)
            failed.insert(id)
        }
        if !failed.isEmpty {
            let reason = error == RD_KAFKA_RESP_ERR_NO_ERROR ? "per-partition errors" : KafkaError.text(error)
            logger.warning("cannot read committed offsets; a new partition's per-product state starts empty (first outputs may be warm-up skips)", metadata: [
                "error": "\(reason)", "partitions": "\(failed.sorted())",
            ])
        }
        return (offsets, failed)
    }

    /// Bounds the committed-offset look-up, which runs on the loop (well inside the liveness window).
    static var committedLookUpTimeoutMs: Int32 { 5_000 }

    private func commitTransaction(_ positions: [PartitionOffset]) {
        // Each transactional call is bounded (``Transactions/callTimeoutMs``) and the loop goes on after it: a
        // revoke that flushes, commits and then aborts makes several in a row, which together can outlast the
        // liveness window although none hangs.
        observer.heartbeat()
        let outcome = Transactions.commit(
            producer: producer, consumer: consumer, topic: options.topics.input, positions: positions,
            offsetsSent: transactionOffsetsSent)
        rd_kafka_poll(producer, 0)  // delivery reports of the committed outputs
        let now = Clock.monotonicNanos()
        switch outcome {
        case .committed:
            transactionOffsetsSent = false
            observer.offsetsCommitted(success: true, error: nil)
            execute(engine.transactionCommitted(.committed, now: now))
        case .retriable(let message, let offsetsSent):
            transactionOffsetsSent = offsetsSent
            observer.offsetsCommitted(success: false, error: message)
            logger.warning("transaction commit will be resumed", metadata: ["error": "\(message)"])
            execute(engine.transactionCommitted(.retriable, now: now))
        case .abortRequired(let message):
            observer.offsetsCommitted(success: false, error: message)
            logger.warning("transaction failed; aborting and reprocessing its inputs", metadata: ["error": "\(message)"])
            execute(engine.transactionCommitted(.abortRequired, now: now))
        case .fatal(let error):
            observer.offsetsCommitted(success: false, error: error.message)
            fail(error)
        }
    }

    private func abortTransaction() {
        observer.heartbeat()
        switch Transactions.abort(producer) {
        case .aborted:
            transactionOffsetsSent = false
        case .retriable(let message):
            // The transaction stays marked failed: the next tick resumes the abort; no record joins it meanwhile.
            logger.warning("transaction abort will be resumed", metadata: ["error": "\(message)"])
            engine.transactionAbortTimedOut(now: Clock.monotonicNanos())
            return
        case .fatal(let error):
            fail(error)
            return
        }
        rd_kafka_poll(producer, 0)
        let actions = engine.transactionAborted(now: Clock.monotonicNanos())
        var rewound: Set<Int32> = []
        for case .pause(let ids) in actions { rewound.formUnion(ids) }
        // Records fetched for the rewound partitions are read again from the committed offsets.
        dropBacklog(for: rewound)
        execute(actions)
        if !rewound.isEmpty {
            logger.info("rewinding to the committed offsets after an aborted transaction", metadata: ["partitions": "\(rewound.sorted())"])
        }
    }
}

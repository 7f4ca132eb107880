import Crdkafka

/// Rebalance callbacks: only bookkeeping here (assign, pause, commit what is due, release); committed offsets
/// and state rebuilds happen later on the loop, which keeps polling meanwhile.
extension EngineDriver {
    func rebalance(_ error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        callbackDepth += 1
        defer { callbackDepth -= 1 }
        let lost = rd_kafka_assignment_lost(consumer) != 0
        // Exactly-once must not commit a transaction holding an input whose outputs are not all produced yet.
        if midInput { engine.inputPartlyProduced() }
        pipelineBeforeRebalance(revoking: error == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !lost)
        let cooperative = clients.isCooperative
        let ids = PartitionList.partitions(of: partitions)
        let now = Clock.monotonicNanos()
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                rd_kafka_error_destroy(rd_kafka_incremental_assign(consumer, partitions))
            } else {
                rd_kafka_assign(consumer, partitions)
            }
            // Paused at once: nothing is fetched before the committed offset is known and the state rebuilt.
            execute(engine.assigned(ids, incremental: cooperative, now: now))
            observeBrokers(.assigned)
            caughtUpReported = false
            logger.info("partitions assigned", metadata: ["partitions": "\(ids)", "topic": "\(options.topics.input)"])
            observer.rebalanced(.assign, assignedPartitions: engine.partitions.count)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if !lost {
                // Deliver what is in flight so the new owner starts after it: fewer duplicates. Bounded; the
                // loop's liveness window is far longer.
                rd_kafka_flush(producer, min(options.shutdownFlushTimeoutMs, Self.revokeFlushTimeoutMs))
            }
            let unhandled = partitionsWithUnhandledRecords
            execute(lost
                ? engine.lost(ids, incremental: cooperative, unhandled: unhandled, now: now)
                : engine.revoked(ids, incremental: cooperative, unhandled: unhandled, now: now))
            if cooperative {
                rd_kafka_error_destroy(rd_kafka_incremental_unassign(consumer, partitions))
            } else {
                rd_kafka_assign(consumer, nil)
            }
            dropBacklog(for: Set(ids))
            rebuilder.cancel(partitions: Set(ids))
            publishPosition(force: true)
            logger.info(lost ? "partitions lost" : "partitions revoked", metadata: ["partitions": "\(ids)"])
            observer.rebalanced(lost ? .lost : .revoke, assignedPartitions: engine.partitions.count)
        default:
            observer.kafkaError("rebalance: \(KafkaError.text(error))", fatal: false)
            rd_kafka_assign(consumer, nil)
            let current = Array(engine.partitions.keys)
            execute(engine.lost(current, incremental: false, unhandled: partitionsWithUnhandledRecords, now: now))
            dropBacklog(for: Set(current))
            rebuilder.cancel(partitions: Set(current))
            observer.rebalanced(.lost, assignedPartitions: 0)
        }
    }

    /// Longest wait for in-flight outputs when partitions are revoked.
    static var revokeFlushTimeoutMs: Int32 { 5_000 }

    /// Works on the running state rebuilds for a slice of time; returns whether any is still under way.
    func stepRebuild() -> Bool {
        // The replay feeds the handler on this thread.
        if rebuilder.hasWork { quiesceStage() }
        guard let finished = rebuilder.step(handler: handler, sliceMs: Self.rebuildSliceMs, isCancelled: { stop.isRequested }) else {
            return false
        }
        for rebuild in finished { rebuildFinished(rebuild) }
        return true
    }

    func rebuildFinished(_ rebuild: StateRebuilder.Finished) {
        observer.stateRebuilt(partition: rebuild.partition, records: rebuild.records, seconds: rebuild.seconds)
        engine.rebuildFinished(partition: rebuild.partition, now: Clock.monotonicNanos())
    }

    /// Time per loop pass given to a state rebuild: records of active partitions are handled in between.
    static var rebuildSliceMs: Int { 25 }

    /// Partitions with records admitted into the batch being collected, which the handler has not seen: a lost
    /// assignment only quiesces the pipeline, so these are not handled before the partitions go.
    var partitionsWithUnhandledRecords: Set<Int32> {
        Set(collecting.admitted.map(\.ticket.partition))
    }
}

import Crdkafka

/// Shutdown: stop fetching, deliver what is in flight, hand out the last offsets, leave the group — each step
/// bounded, so the whole stays inside ``StreamProcessorOptions/shutdownBudgetSeconds``.
extension EngineDriver {
    func shutdown() {
        logger.info("stopping: flushing outputs and committing offsets", metadata: ["inflight": "\(engine.inflightCount)"])
        // The records already admitted are handled and produced (or dropped, after a fatal error) first.
        stopPipeline()
        // The probe's look-up in progress (if any) ends while the outputs are flushed; waited for before the close.
        logEndProbe?.beginStop()
        let now = Clock.monotonicNanos()
        engine.stop(now: now)
        execute(engine.tick(now: now, idle: true))  // pauses every partition
        rebuilder.cancelAll()
        drainBacklog()
        let remaining = rd_kafka_flush(producer, options.shutdownFlushTimeoutMs)
        if remaining != RD_KAFKA_RESP_ERR_NO_ERROR || !retries.isEmpty {
            logger.warning("outputs not acknowledged at shutdown; their inputs are not committed and will be processed again", metadata: [
                "queued": "\(rd_kafka_outq_len(producer))", "retrying": "\(retries.count)",
            ])
        }
        if fatalClientError == nil {
            execute(engine.finish(now: Clock.monotonicNanos()))
        }
        for retry in retries.values { retry.release() }
        retries.removeAll()
        publishPosition(force: true)
        board.detach()
        let assigned = engine.partitions.count
        logEndProbe?.stop()
        // From here the rebalance callback (run by the close, possibly on a thread that outlives the wait) only
        // gives partitions back to librdkafka: the engine is not touched again.
        let closed = clients.closeConsumer(within: options.consumerCloseTimeoutSeconds, commitFirst: fatalClientError == nil) { [logger] error in
            logger.warning("consumer close", metadata: ["error": "\(error)"])
        }
        if !closed {
            // librdkafka 2.0.2 can block forever inside close when the group is rebalancing (its revoke callback's
            // assign call never returns). Offsets were stored; the group expires this member's session.
            logger.warning("the consumer did not close in time; leaving without a clean group exit", metadata: [
                "seconds": "\(options.consumerCloseTimeoutSeconds)",
            ])
        }
        if assigned > 0 { observer.rebalanced(.revoke, assignedPartitions: 0) }
        clients.destroy()
        logger.info("stopped")
    }
}

import Crdkafka

/// The two-stage path (a ``HandlerStage``): the loop admits a pass's records into a batch, the stage's thread
/// decides it, and the loop produces its outputs while the stage decides the next one.
///
/// What keeps it equivalent to handling each record as it is fetched:
/// - batches are decided in order, one at a time, and produced in order, so every partition's outputs keep
///   their order;
/// - the handler is never used by two threads at once: state resets, rebuilds and rebalances first wait for the
///   stage (``HandlerStage/quiesce()``);
/// - a batch is only produced while its partitions are still current: a record of a partition revoked or lost
///   meanwhile produces nothing and its input is never completed, so its new owner (or this instance, after a
///   rebuild) handles it again, exactly as a record still in the backlog is;
/// - before the loop pauses for back-pressure, revokes partitions or stops, the pipeline is emptied; when it
///   sleeps with a batch in the stage, the stage's end of that batch wakes it: an output never waits for the
///   next record to arrive.
extension EngineDriver {
    /// Registers `message` with the engine and keeps it in the batch being collected, or destroys it when it is
    /// not to be handled now.
    // Specialised: see `run()`.
    @_specialize(exported: false, where Commits == AtLeastOnceCommits)
    @_specialize(exported: false, where Commits == ExactlyOnceCommits)
    func collect(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        guard var admitted = admit(message, now: Clock.monotonicNanos()) else {
            rd_kafka_message_destroy(message)
            return
        }
        let record = KafkaMessage.record(message, topic: options.topics.input)
        if preparesRecords, collecting.count < PreparedSlot.capacity {
            let slot = PreparedSlot(batch: collecting.id, index: collecting.count)
            handler.prepare(record, in: slot)
            admitted.prepared = slot
        }
        collecting.append(admitted, record: record)
    }

    /// One step of the pipeline: takes back the batch the stage decided, hands it the collected one, and produces
    /// the decided batch's outputs while the stage works.
    // Specialised: see `run()`.
    @_specialize(exported: false, where Commits == AtLeastOnceCommits)
    @_specialize(exported: false, where Commits == ExactlyOnceCommits)
    func advancePipeline() {
        guard let stage else { return }
        if finishing.isEmpty { stage.take(into: &finishing) }
        if !collecting.isEmpty, stage.phase == .idle {
            // Records whose partition was revoked or lost while they were collected (a rebalance served by a
            // consumer poll) are not decided at all: their new owner handles them.
            collecting.removeUndecided(where: { !engine.isCurrent($0.ticket) }, release: { rd_kafka_message_destroy($0.message) })
            if !collecting.isEmpty { stage.submit(&collecting) }
        }
        finishDecided()
    }

    /// Whether no admitted record waits in the pipeline (always, without a stage).
    var pipelineIsEmpty: Bool {
        collecting.isEmpty && finishing.isEmpty && stage?.holdsBatch != true
    }

    /// Admitted records whose outputs are not made yet (0 without a stage): back-pressure counts them.
    var pipelineHeld: Int {
        guard let stage else { return 0 }
        return collecting.count + (finishing.count - finishing.finished) + stage.heldCount
    }

    /// Empties the pipeline: the stage's batch and the collected one are decided and their outputs produced.
    func completePipeline() {
        guard stage != nil else { return }
        advancePipeline()  // produces the stage's batch, hands it the collected one
        advancePipeline()  // produces that one
    }

    /// Produces the outputs of the decided batch from where its finishing stopped, then clears it. A rebalance
    /// callback served meanwhile (the producer queue was full) only waits for the stage: it does not finish this
    /// batch itself, which would reorder outputs.
    private func finishDecided() {
        guard !finishing.isEmpty, !finishingInProgress else { return }
        finishingInProgress = true
        defer { finishingInProgress = false }
        let now = Clock.monotonicNanos()
        while !finishing.isFinished {
            let index = finishing.finished
            let admitted = finishing.admitted[index]
            if fatalClientError == nil, engine.isCurrent(admitted.ticket) {
                var slot = finishing.takeSlot(index)
                produceOutputs(
                    of: admitted, record: slot.record, disposition: slot.disposition, output: slot.output,
                    extras: slot.extras, now: now)
                finishing.returnSlot(index, output: &slot.output, extras: &slot.extras)
            }
            rd_kafka_message_destroy(admitted.message)
            finishing.finished = index + 1
        }
        finishing.removeAll()
    }

    /// Before the handler is used on this thread (state reset, rebuild, rebalance): waits for the stage.
    func quiesceStage() {
        stage?.quiesce()
    }

    /// A rebalance is being served. Revoking (not lost): the pipeline is emptied first, as the records would have
    /// been handled one by one — the outputs then reach the broker in the flush that follows, and the partitions
    /// can keep their state if they come back. Otherwise (assigned, lost, or a callback served while a batch is
    /// being produced) only the stage is waited for; what was admitted for a partition that goes is dropped.
    func pipelineBeforeRebalance(revoking: Bool) {
        guard stage != nil else { return }
        guard revoking, !finishingInProgress else {
            quiesceStage()
            return
        }
        // Bounded as the flush that follows is: a full producer queue gives up after that long (the inputs are
        // then read again by their new owner).
        produceDeadlineNanos = Clock.monotonicNanos() &+ UInt64(Self.revokeFlushTimeoutMs) * 1_000_000
        defer { produceDeadlineNanos = nil }
        completePipeline()
    }

    /// Whether a produce that finds the queue full should give up now (see ``pipelineBeforeRebalance(revoking:)``).
    func produceDeadlinePassed() -> Bool {
        guard let produceDeadlineNanos else { return false }
        return Clock.monotonicNanos() >= produceDeadlineNanos
    }

    /// Empties the pipeline (outputs produced, or dropped after a fatal error) and ends the stage's thread.
    func stopPipeline() {
        guard let stage else { return }
        completePipeline()
        // Never called from inside a batch's finishing, so completePipeline left nothing behind.
        assert(pipelineIsEmpty, "records left in the pipeline at shutdown")
        stage.stop()
        self.stage = nil
    }
}

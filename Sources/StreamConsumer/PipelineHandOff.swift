/// When the processing loop hands the records it collected to the handler stage, takes decided batches back, or
/// empties the pipeline (``EngineDriver``'s two-stage path). I/O-free: the driver asks with what it knows.
///
/// The loop never waits for a busy stage while records keep coming, up to ``leadLimit`` records collected ahead:
/// it goes on fetching, decoding and serving delivery reports, and hands over as soon as the stage is free.
/// Waiting for the stage at the end of every pass instead (one batch ahead at most) left both threads idle ~40 %
/// of a catch-up (docs/PERFORMANCE.md, session 13).
struct PipelineHandOff: Sendable {
    /// Records collected at least before a batch goes to a stage that became free within a pass (a smaller one
    /// would cost a hand-over for a handful of records).
    var minimum: Int
    /// Records the loop collects ahead of a busy stage before it waits for it.
    var leadLimit: Int

    /// What the loop does with the pipeline at the end of a pass.
    enum PassEnd: Equatable, Sendable {
        /// Every batch decided and produced, the stage left empty: before a pause, a stop, or a sleep the stage
        /// cannot wake.
        case empty
        /// One step: the decided batch taken back (waiting for it if need be), the collected one handed over,
        /// the decided one produced.
        case advance
        /// Nothing now: the stage is busy and more records are waiting to be read.
        case carryOn
    }

    /// After a record was collected: whether to advance the pipeline now, because the stage is free, or because
    /// the loop is as far ahead as it may go (the step then waits for the stage). Asked once per record: the
    /// stage (an atomic load) is asked only past ``minimum``.
    @inline(__always)
    func advancesAfterCollecting(collected: Int, stageReady: @autoclosure () -> Bool) -> Bool {
        collected >= minimum && (collected >= leadLimit || stageReady())
    }

    /// Why a pass stopped taking records.
    enum PassStop: Equatable, Sendable {
        /// No fetched record is waiting: the loop is about to sleep.
        case drained
        /// The pass took its whole share: more records may be waiting.
        case full
        /// Back-pressure: the engine takes no more records while the pipeline holds these (or a fatal error).
        case heldBack
    }

    /// At the end of a pass. `mustEmpty`: the loop is about to pause fetching (back-pressure with nothing in the
    /// pipeline left to count) or stop; `canBeWoken`: the end of a batch in the stage wakes a sleeping loop (the
    /// wake-up pipe), so the loop may sleep with a batch in the stage.
    func atPassEnd(mustEmpty: Bool, stop: PassStop, canBeWoken: Bool, stageReady: Bool) -> PassEnd {
        if mustEmpty { return .empty }
        switch stop {
        case .drained:
            // About to sleep: what the stage decided is produced first, if the stage can wake the loop for the
            // next batch; otherwise everything is.
            return canBeWoken ? .advance : .empty
        case .full:
            // Only while records keep coming is a busy stage not waited for.
            return stageReady ? .advance : .carryOn
        case .heldBack:
            // Nothing to do until the stage's batch is produced: carrying on would spin through empty passes.
            return .advance
        }
    }
}

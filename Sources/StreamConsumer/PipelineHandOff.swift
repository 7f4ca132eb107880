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

    /// At the end of a pass. `mustEmpty`: the loop is about to pause fetching (back-pressure) or stop;
    /// `drained`: no fetched record is waiting; `canBeWoken`: the end of a batch in the stage wakes a sleeping
    /// loop (the wake-up pipe), so the loop may sleep with a batch in the stage.
    func atPassEnd(mustEmpty: Bool, drained: Bool, canBeWoken: Bool, stageReady: Bool) -> PassEnd {
        if mustEmpty || (drained && !canBeWoken) { return .empty }
        // Drained: the loop is about to sleep, so it produces what the stage decided first (nothing else to do).
        if drained || stageReady { return .advance }
        return .carryOn
    }
}

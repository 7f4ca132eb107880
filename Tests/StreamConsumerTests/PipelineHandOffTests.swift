import Testing

@testable import StreamConsumer

/// When the processing loop hands batches to the handler stage, waits for it, or empties the pipeline.
@Suite struct PipelineHandOffTests {
    let policy = PipelineHandOff(minimum: 64, leadLimit: 4096)

    @Test func aFreeStageGetsTheCollectedRecordsOnceThereAreEnough() {
        #expect(!policy.advancesAfterCollecting(collected: 63, stageReady: true))
        #expect(policy.advancesAfterCollecting(collected: 64, stageReady: true))
        #expect(policy.advancesAfterCollecting(collected: 1000, stageReady: true))
    }

    @Test func aBusyStageIsWaitedForOnlyAtTheLeadLimit() {
        #expect(!policy.advancesAfterCollecting(collected: 64, stageReady: false))
        #expect(!policy.advancesAfterCollecting(collected: 4095, stageReady: false))
        #expect(policy.advancesAfterCollecting(collected: 4096, stageReady: false))
        // Beyond it (records collected while a batch was being produced): still at once.
        #expect(policy.advancesAfterCollecting(collected: 5000, stageReady: false))
    }

    @Test func aLeadLimitBelowTheMinimumStillHandsOverAtTheMinimum() {
        let small = PipelineHandOff(minimum: 64, leadLimit: 16)
        #expect(!small.advancesAfterCollecting(collected: 16, stageReady: false))
        #expect(small.advancesAfterCollecting(collected: 64, stageReady: false))
    }

    @Test func thePipelineIsEmptiedBeforeAPauseOrStopWhateverTheStageDoes() {
        for stop in [PipelineHandOff.PassStop.drained, .full, .heldBack] {
            for canBeWoken in [false, true] {
                for stageReady in [false, true] {
                    #expect(policy.atPassEnd(mustEmpty: true, stop: stop, canBeWoken: canBeWoken, stageReady: stageReady) == .empty)
                }
            }
        }
    }

    @Test func aLoopAboutToSleepProducesWhatTheStageDecidedFirst() {
        // The stage's end of a batch wakes the loop: one step, then sleep with the next batch in the stage.
        #expect(policy.atPassEnd(mustEmpty: false, stop: .drained, canBeWoken: true, stageReady: false) == .advance)
        #expect(policy.atPassEnd(mustEmpty: false, stop: .drained, canBeWoken: true, stageReady: true) == .advance)
        // Nothing would wake it: it empties the pipeline before it sleeps.
        #expect(policy.atPassEnd(mustEmpty: false, stop: .drained, canBeWoken: false, stageReady: false) == .empty)
        #expect(policy.atPassEnd(mustEmpty: false, stop: .drained, canBeWoken: false, stageReady: true) == .empty)
    }

    @Test func whileRecordsKeepComingABusyStageIsNotWaitedFor() {
        #expect(policy.atPassEnd(mustEmpty: false, stop: .full, canBeWoken: true, stageReady: false) == .carryOn)
        #expect(policy.atPassEnd(mustEmpty: false, stop: .full, canBeWoken: false, stageReady: false) == .carryOn)
        // A free stage gets the pass's records and gives its decided batch back.
        #expect(policy.atPassEnd(mustEmpty: false, stop: .full, canBeWoken: true, stageReady: true) == .advance)
    }

    @Test func aPassHeldBackByBackPressureWaitsForTheStageInsteadOfSpinning() {
        // The engine takes no more records while the pipeline holds these: only producing them frees room, so the
        // loop takes the stage's batch back (waiting for it) rather than turning through empty passes.
        for canBeWoken in [false, true] {
            for stageReady in [false, true] {
                #expect(policy.atPassEnd(mustEmpty: false, stop: .heldBack, canBeWoken: canBeWoken, stageReady: stageReady) == .advance)
            }
        }
    }
}

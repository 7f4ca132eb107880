@testable import StreamConsumer
import Testing

/// Stop and finish in every phase.
@Suite struct EngineStopTests {
    @Test func stopWhileRunningHandlesNothingMoreAndPausesEveryPartition() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        engine.stop(now: clock.now)
        #expect(engine.lifecycle == .draining)
        #expect(!engine.acceptsRecords)
        #expect(engine.fetched(partition: 0, offset: 1, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.fetched(partition: 1, offset: 0, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.tick(now: clock.now, idle: true) == [.pause([0, 1])])
        #expect(engine.tick(now: clock.now, idle: true) == [])
        // Outputs in flight are still acknowledged; their offsets go out with finish.
        engine.deliver([slot], now: clock.now)
        #expect(engine.watermark(0) == 1)
        clock.advance(ms: 100)
        #expect(engine.tick(now: clock.now, idle: true).resumed == nil)
        engine.stop(now: clock.now)
        #expect(engine.lifecycle == .draining)
        #expect(engine.finish(now: clock.now) == [.storeOffsets([at(0, 1)])])
        #expect(engine.lifecycle == .stopped)
        #expect(engine.finish(now: clock.now) == [])
        engine.stop(now: clock.now)
        #expect(engine.lifecycle == .stopped)
        #expect(engine.tick(now: clock.now, idle: true).resumed == nil)
    }

    @Test func stopWhileAwaitingCommittedOffsetsNeverResumes() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        _ = engine.assigned([0, 1], incremental: false, now: clock.now)
        engine.stop(now: clock.now)
        let first = engine.tick(now: clock.now, idle: true)
        #expect(first.resumed == nil)
        #expect(first.paused == nil)  // assigned paused already
        _ = engine.committedOffsets([0: nil, 1: nil], now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).resumed == nil)
        #expect(engine.partitions.values.allSatisfy { $0.fetchPaused })
        #expect(engine.fetched(partition: 0, offset: 0, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.finish(now: clock.now) == [])
    }

    @Test func stopWhileRebuildingNeverResumes() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        _ = engine.assigned([0], incremental: false, now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        #expect(engine.committedOffsets([0: 30], now: clock.now) == [.resetState([0]), .rebuild(partition: 0, before: 30)])
        engine.stop(now: clock.now)
        engine.rebuildFinished(partition: 0, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [])
        #expect(engine.partitions[0]?.fetchPaused == true)
        #expect(engine.fetched(partition: 0, offset: 30, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.finish(now: clock.now) == [])
    }

    @Test func stopWhileRetriesArePendingKeepsRetryingUntilFinishDropsThem() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(retryInitialMs: 100)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let failing = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let other = engine.handle(partition: 1, offset: 0, now: clock.now).slots
        _ = engine.delivered(slot: failing, result: .failed, now: clock.now)
        engine.stop(now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).paused == [0, 1])
        clock.advance(ms: 100)
        #expect(engine.tick(now: clock.now, idle: true) == [.produceAgain(slot: failing)])
        engine.reproduced(slot: failing, accepted: false, now: clock.now)
        engine.deliver(other, now: clock.now)
        let final = engine.finish(now: clock.now)
        #expect(final == [.storeOffsets([at(1, 1)]), .dropRetry(slot: failing)])
        #expect(engine.retrySlots.isEmpty)
        #expect(engine.finish(now: clock.now) == [])
        clock.advance(ms: 10_000)
        #expect(engine.tick(now: clock.now, idle: true).reproducedSlots.isEmpty)
    }

    @Test func finishWithoutStopStoresOnlyWatermarksMovedSinceTheLastStore() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 0, outputs: 0, now: clock.now)
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true) == [.storeOffsets([at(0, 1), at(1, 1)])])
        engine.handle(partition: 1, offset: 1, outputs: 0, now: clock.now)
        #expect(engine.finish(now: clock.now) == [.storeOffsets([at(1, 2)])])
        #expect(engine.lifecycle == .stopped)
        #expect(engine.fetched(partition: 0, offset: 1, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.finish(now: clock.now) == [])
    }

    @Test func finishWithNothingHandledEmitsNothing() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        #expect(engine.finish(now: clock.now) == [])
        var exactly = makeExactlyOnce()
        #expect(exactly.finish(now: clock.now) == [])
    }

    @Test func exactlyOnceFinishCommitsTheOpenTransaction() {
        let clock = FakeClock()
        var engine = makeExactlyOnce(maxRecords: 1_000, maxAgeMillis: 10_000)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        engine.handle(partition: 1, offset: 3, outputs: 0, now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.stop(now: clock.now)
        // Draining: no commit at the tick, only the pause.
        #expect(engine.tick(now: clock.now, idle: true) == [.pause([0, 1])])
        #expect(engine.finish(now: clock.now) == [.commitTransaction([at(0, 1), at(1, 4)])])
        #expect(engine.finish(now: clock.now) == [])
    }

    @Test func exactlyOnceFinishAbortsAFailedTransaction() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        engine.stop(now: clock.now)
        _ = engine.delivered(slot: slot, result: .failed, now: clock.now)
        #expect(engine.finish(now: clock.now) == [.abortTransaction])
        #expect(engine.finish(now: clock.now) == [])
    }

    /// A stop while the producer queue is full gives the outputs it could not queue back as purged: the
    /// transaction that holds their inputs' positions must abort, not commit without them.
    @Test func exactlyOnceOutputPurgedAtStopAbortsTheTransaction() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let delivered = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let purged = engine.handle(partition: 0, offset: 1, now: clock.now).slots[0]
        engine.deliver([delivered], now: clock.now)
        engine.stop(now: clock.now)
        guard case .dropped = engine.delivered(slot: purged, result: .purged, now: clock.now) else {
            Issue.record("purged output not dropped")
            return
        }
        #expect(engine.finish(now: clock.now) == [.abortTransaction])
    }

    /// At-least-once: a purged output's input never completes, so its offset is never stored.
    @Test func atLeastOnceOutputPurgedAtStopKeepsItsInputUncommitted() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let delivered = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let purged = engine.handle(partition: 0, offset: 1, now: clock.now).slots[0]
        engine.deliver([delivered], now: clock.now)
        engine.stop(now: clock.now)
        _ = engine.delivered(slot: purged, result: .purged, now: clock.now)
        #expect(engine.finish(now: clock.now) == [.storeOffsets([at(0, 1)])])
    }

    @Test func exactlyOnceFinishAfterACommitEmitsNothing() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.commitTransaction([at(0, 1)])])
        _ = engine.transactionCommitted(.committed, now: clock.now)
        #expect(engine.finish(now: clock.now) == [])
    }
}

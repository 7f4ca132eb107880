@testable import StreamConsumer
import Testing

/// Failed deliveries, retries with back-off, and back-pressure on fetching.
@Suite struct EngineRetryTests {
    @Test func failedDeliveryIsRetriedWithBackOffUnderBackPressure() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(retryInitialMs: 100, retryMaximumMs: 800)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        clock.advance(ms: 5)

        guard case .retry(let record) = engine.delivered(slot: slot, result: .failed, now: clock.now) else {
            Issue.record("failed delivery not retried")
            return
        }
        #expect(record.retryDueNanos == clock.now + 100 * millis)
        #expect(record.backoffNanos == 100 * millis)
        #expect(!engine.acceptsRecords)
        #expect(engine.inflightCount == 1)

        let pressure = engine.tick(now: clock.now, idle: true)
        #expect(pressure.paused == [0, 1])
        #expect(pressure.reproducedSlots.isEmpty)
        #expect(engine.partitions.values.allSatisfy { $0.fetchPaused })

        // Not due yet.
        clock.advance(ms: 99)
        #expect(engine.tick(now: clock.now, idle: true).reproducedSlots.isEmpty)
        clock.advance(ms: 1)
        #expect(engine.tick(now: clock.now, idle: true) == [.produceAgain(slot: slot)])

        // The producer's queue is full: the back-off doubles up to the maximum.
        for expectedMs: UInt64 in [200, 400, 800, 800] {
            engine.reproduced(slot: slot, accepted: false, now: clock.now)
            #expect(engine.outputs.peek(slot)?.backoffNanos == expectedMs * millis)
            clock.advance(ms: expectedMs - 1)
            #expect(engine.tick(now: clock.now, idle: true).reproducedSlots.isEmpty, "not due before \(expectedMs) ms")
            clock.advance(ms: 1)
            #expect(engine.tick(now: clock.now, idle: true) == [.produceAgain(slot: slot)])
        }
        #expect(!engine.acceptsRecords)

        engine.reproduced(slot: slot, accepted: true, now: clock.now)
        #expect(engine.outputs.peek(slot)?.retryDueNanos == nil)
        engine.deliver([slot], now: clock.now)
        #expect(engine.watermark(0) == 1)
        clock.advance(ms: 50)
        let relieved = engine.tick(now: clock.now, idle: true)
        #expect(relieved == [.storeOffsets([at(0, 1)]), .backPressure(false), .resume([0, 1])])
        #expect(engine.acceptsRecords)
        // Not produced again once accepted.
        clock.advance(ms: 1_000)
        #expect(engine.tick(now: clock.now, idle: true) == [])
    }

    @Test func backPressureOnIsAnnouncedWhenARetryCongestsTheEngine() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        _ = engine.delivered(slot: slot, result: .failed, now: clock.now)
        let actions = engine.tick(now: clock.now, idle: true)
        #expect(actions.paused == [0])
        #expect(actions.contains(.backPressure(true)))
    }

    @Test func rejectedReproduceOfAnUnknownSlotChangesNothing() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        engine.reproduced(slot: slot, accepted: false, now: clock.now)  // with the producer, not waiting
        #expect(engine.outputs.peek(slot)?.retryDueNanos == nil)
        #expect(engine.acceptsRecords)
    }

    @Test func outputFailingAgainAfterAReproduceIsRetriedAgain() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(retryInitialMs: 100)
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        _ = engine.delivered(slot: slot, result: .failed, now: clock.now)
        clock.advance(ms: 100)
        #expect(engine.tick(now: clock.now, idle: true).reproducedSlots == [slot])
        engine.reproduced(slot: slot, accepted: true, now: clock.now)
        guard case .retry = engine.delivered(slot: slot, result: .failed, now: clock.now) else {
            Issue.record("second failure not retried")
            return
        }
        #expect(!engine.acceptsRecords)
        clock.advance(ms: 100)
        #expect(engine.tick(now: clock.now, idle: true).reproducedSlots == [slot])
        engine.reproduced(slot: slot, accepted: true, now: clock.now)
        engine.deliver([slot], now: clock.now)
        #expect(engine.watermark(0) == 1)
    }

    @Test func laterInputsWaitBehindARetriedOne() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let first = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let second = engine.handle(partition: 0, offset: 1, now: clock.now).slots[0]
        _ = engine.delivered(slot: first, result: .failed, now: clock.now)
        engine.deliver([second], now: clock.now)
        clock.advance(ms: 100)
        let actions = engine.tick(now: clock.now, idle: true)
        #expect(actions.storedOffsets == nil)
        #expect(actions.reproducedSlots == [first])
        engine.reproduced(slot: first, accepted: true, now: clock.now)
        engine.deliver([first], now: clock.now)
        #expect(engine.watermark(0) == 2)
    }

    @Test func maxInflightPausesAndDrainingResumes() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(maxInflight: 3)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let a = engine.handle(partition: 0, offset: 0, outputs: 2, now: clock.now).slots
        #expect(engine.acceptsRecords)
        let b = engine.handle(partition: 1, offset: 0, outputs: 1, now: clock.now).slots
        #expect(engine.inflightCount == 3)
        #expect(!engine.acceptsRecords)
        let full = engine.tick(now: clock.now, idle: false)
        #expect(full.paused == [0, 1])
        #expect(full.resumed == nil)
        #expect(full.contains(.backPressure(true)))
        // Still full: nothing more.
        #expect(engine.tick(now: clock.now, idle: true) == [])
        engine.deliver([a[0]], now: clock.now)
        #expect(engine.inflightCount == 2)
        clock.advance(ms: 50)
        let drained = engine.tick(now: clock.now, idle: true)
        #expect(drained == [.backPressure(false), .resume([0, 1])])
        #expect(engine.acceptsRecords)
        engine.deliver([a[1]] + b, now: clock.now)
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true) == [.storeOffsets([at(0, 1), at(1, 1)])])
    }

    @Test func partitionsNotActiveStayPausedWhenBackPressureEnds() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        _ = engine.delivered(slot: slot, result: .failed, now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        // Partition 1 arrives (cooperative) and is rebuilding when the pressure ends.
        _ = engine.assigned([1], incremental: true, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).contains(.lookUpCommitted([1])))
        #expect(engine.committedOffsets([1: 10], now: clock.now) == [.resetState([1]), .rebuild(partition: 1, before: 10)])
        engine.reproduced(slot: slot, accepted: true, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.backPressure(false), .resume([0])])
        engine.rebuildFinished(partition: 1, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([1])])
    }
}

/// A produce the producer refuses with a full queue: given up only at a stop.
@Suite struct RefusedProduceTests {
    @Test func onlyAStopGivesUpOnAnOutputTheFullQueueRefused() {
        #expect(DeliveryResult.refusedProduce(queueFull: true, stopping: true) == .purged)
        #expect(DeliveryResult.refusedProduce(queueFull: true, stopping: false) == .failed)
        #expect(DeliveryResult.refusedProduce(queueFull: false, stopping: true) == .failed)
        #expect(DeliveryResult.refusedProduce(queueFull: false, stopping: false) == .failed)
    }

    /// A cooperative revoke flushes the pipeline against a deadline; past it, a full queue refuses outputs of
    /// the partition revoked and of one that stays. The one that stays must still complete: its output is retried
    /// and its offsets move on. (Refused outputs used to be dropped like a purge: the input never completed and
    /// the kept partition's stored offset stopped there for good.)
    @Test func outputRefusedDuringACooperativeRevokeIsRetriedForTheKeptPartition() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(retryInitialMs: 100, retryMaximumMs: 800)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let kept = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let revoked = engine.handle(partition: 1, offset: 0, now: clock.now).slots[0]
        let refused = DeliveryResult.refusedProduce(queueFull: true, stopping: false)
        guard case .retry = engine.delivered(slot: kept, result: refused, now: clock.now),
            case .retry = engine.delivered(slot: revoked, result: refused, now: clock.now)
        else {
            Issue.record("refused outputs are not retried")
            return
        }
        _ = engine.revoked([1], incremental: true, now: clock.now)
        clock.advance(ms: 100)
        let due = engine.tick(now: clock.now, idle: true)
        #expect(due.droppedRetries == [revoked])
        #expect(due.reproducedSlots == [kept])
        engine.reproduced(slot: kept, accepted: true, now: clock.now)
        engine.deliver([kept], now: clock.now)
        engine.handle(partition: 0, offset: 1, outputs: 0, now: clock.now)
        #expect(engine.watermark(0) == 2)
    }
}

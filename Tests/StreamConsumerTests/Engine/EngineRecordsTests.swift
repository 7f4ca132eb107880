@testable import StreamConsumer
import Testing

/// Fetched records, outputs and the at-least-once watermark.
@Suite struct EngineRecordsTests {
    @Test func recordOfAnActivePartitionIsHandled() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let generation = engine.partitions[0]!.generation
        clock.advance(ms: 1)
        #expect(engine.fetched(partition: 0, offset: 0, timestamp: 12.5, now: clock.now)
            == .handle(InputTicket(partition: 0, generation: generation, sequence: 0), beginTransaction: false))
        #expect(engine.fetched(partition: 0, offset: 1, timestamp: 13, now: clock.now)
            == .handle(InputTicket(partition: 0, generation: generation, sequence: 1), beginTransaction: false))
        #expect(engine.partitions[0]?.position == 2)
        #expect(engine.partitions[0]?.lastHandledTimestamp == 13)
        #expect(engine.acceptsRecords)
    }

    @Test func recordFetchedAgainAfterAPauseIsNotHandledTwice() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(maxInflight: 2)
        engine.activate([0], committed: [0: 10], now: clock.now)
        let first = engine.handle(partition: 0, offset: 10, now: clock.now)
        let second = engine.handle(partition: 0, offset: 11, now: clock.now)
        // Two outputs in flight: back-pressure pauses fetching, the acknowledgements resume it.
        #expect(engine.tick(now: clock.now, idle: false).contains(.pause([0])))
        engine.deliver(first.slots + second.slots, now: clock.now)
        clock.advance(ms: 10)
        #expect(engine.tick(now: clock.now, idle: false).contains(.resume([0])))
        // librdkafka fetches from an older position again: what was handled is discarded, the rest handled.
        #expect(engine.fetched(partition: 0, offset: 10, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.fetched(partition: 0, offset: 11, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.partitions[0]?.position == 12)
        engine.handle(partition: 0, offset: 12, outputs: 0, now: clock.now)
        #expect(engine.watermark(0) == 13, "the watermark is not held back by the discarded records")
    }

    @Test func inputsHeldByAHandlerStageCountTowardsTheInflightCap() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce(maxInflight: 4)
        engine.activate([0], committed: [0: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 2, now: clock.now)
        #expect(engine.acceptsRecords)
        #expect(engine.acceptsRecords(pending: 1), "2 outputs + 1 input to come < 4")
        #expect(!engine.acceptsRecords(pending: 2), "2 outputs + 2 inputs to come reach the cap")
        engine.stop(now: clock.now)
        #expect(!engine.acceptsRecords(pending: 0), "no input while draining")
    }

    @Test func recordOfAnUnassignedPartitionIsDiscarded() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        #expect(engine.fetched(partition: 3, offset: 0, timestamp: nil, now: clock.now) == .discard)
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(engine.fetched(partition: 1, offset: 0, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.partitions[1] == nil)
    }

    @Test func recordFetchedWhileAwaitingTheCommittedOffsetIsReadAgainBeforeResuming() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(rebuild: false)
        #expect(engine.assigned([0, 1], incremental: false, now: clock.now) == [.pause([0, 1])])
        // Fetched before the pause took effect: not handled, remembered (lowest offset wins).
        #expect(engine.fetched(partition: 0, offset: 8, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.fetched(partition: 0, offset: 7, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.fetched(partition: 0, offset: 9, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.partitions[0]?.heldFrom == 7)
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0, 1])])
        // The look-up is asked only once.
        clock.advance(ms: 60)
        #expect(engine.tick(now: clock.now, idle: true) == [])
        #expect(engine.committedOffsets([0: 7, 1: 3], now: clock.now) == [.resetState([0, 1])])
        let actions = engine.tick(now: clock.now, idle: true)
        #expect(actions == [.seek([at(0, 7)]), .resume([0, 1])])
        #expect(engine.partitions[0]?.heldFrom == nil)
        // Resumed once: the next tick changes nothing.
        #expect(engine.tick(now: clock.now, idle: true) == [])
    }

    @Test func recordFetchedWhileRebuildingIsReadAgainBeforeResuming() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        _ = engine.assigned([2], incremental: false, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([2])])
        #expect(engine.committedOffsets([2: 40], now: clock.now) == [.resetState([2]), .rebuild(partition: 2, before: 40)])
        #expect(engine.partitions[2]?.phase == .rebuilding)
        #expect(engine.fetched(partition: 2, offset: 41, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.fetched(partition: 2, offset: 40, timestamp: nil, now: clock.now) == .discard)
        // Still rebuilding: stays paused.
        #expect(engine.tick(now: clock.now, idle: true) == [])
        engine.rebuildFinished(partition: 2, now: clock.now)
        #expect(engine.partitions[2]?.phase == .active)
        #expect(engine.tick(now: clock.now, idle: true) == [.seek([at(2, 40)]), .resume([2])])
        #expect(engine.fetched(partition: 2, offset: 40, timestamp: nil, now: clock.now) != .discard)
    }

    @Test func rebuildFinishedOfAPartitionNotRebuildingChangesNothing() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        _ = engine.assigned([0], incremental: false, now: clock.now)
        engine.rebuildFinished(partition: 0, now: clock.now)
        #expect(engine.partitions[0]?.phase == .awaitingCommitted(rewind: false))
        engine.rebuildFinished(partition: 9, now: clock.now)
        #expect(engine.partitions[9] == nil)
    }

    @Test func noRebuildForOffsetZeroOrNoCommittedOffsetOrWhenDisabled() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        _ = engine.assigned([0, 1, 2], incremental: false, now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        #expect(engine.committedOffsets([0: 0, 1: nil, 2: 5], now: clock.now)
            == [.resetState([0, 1, 2]), .rebuild(partition: 2, before: 5)])
        #expect(engine.partitions[0]?.phase == .active)
        #expect(engine.partitions[1]?.phase == .active)
        #expect(engine.partitions[1]?.position == nil)

        var disabled = makeAtLeastOnce(rebuild: false)
        _ = disabled.assigned([2], incremental: false, now: clock.now)
        _ = disabled.tick(now: clock.now, idle: true)
        #expect(disabled.committedOffsets([2: 5], now: clock.now) == [.resetState([2])])
        #expect(disabled.partitions[2]?.phase == .active)
        #expect(disabled.partitions[2]?.position == 5)
    }

    @Test func inputWithTwoOutputsIsStoredOnlyAfterBoth() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let (_, slots) = engine.handle(partition: 0, offset: 10, outputs: 2, kinds: [prediction, deadLetter], now: clock.now)
        #expect(slots.count == 2)
        #expect(engine.inflightCount == 2)
        #expect(engine.delivered(slot: slots[1], result: .delivered, now: clock.now) != .unknown)
        #expect(engine.watermark(0) == nil)
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true).storedOffsets == nil)
        guard case .acknowledged(let record) = engine.delivered(slot: slots[0], result: .delivered, now: clock.now) else {
            Issue.record("second output not acknowledged")
            return
        }
        #expect(record.kind == prediction)
        #expect(engine.watermark(0) == 11)
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true) == [.storeOffsets([at(0, 11)])])
        #expect(engine.inflightCount == 0)
    }

    @Test func inputWithNoOutputCompletesAtOnce() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: 4], now: clock.now)
        engine.handle(partition: 0, offset: 4, outputs: 0, now: clock.now)
        #expect(engine.watermark(0) == 5)
        engine.handle(partition: 0, offset: 5, outputs: 0, now: clock.now)
        #expect(engine.watermark(0) == 6)
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true) == [.storeOffsets([at(0, 6)])])
    }

    @Test func outOfOrderAcknowledgementsMoveOnlyTheContiguousPrefix() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let a = engine.handle(partition: 0, offset: 0, outputs: 1, now: clock.now).slots
        let b = engine.handle(partition: 0, offset: 1, outputs: 2, now: clock.now).slots
        let c = engine.handle(partition: 0, offset: 2, outputs: 1, now: clock.now).slots
        engine.deliver(c, now: clock.now)
        engine.deliver([b[0]], now: clock.now)
        #expect(engine.watermark(0) == nil)
        engine.deliver(a, now: clock.now)
        #expect(engine.watermark(0) == 1)  // b still waits for its second output
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true) == [.storeOffsets([at(0, 1)])])
        engine.deliver([b[1]], now: clock.now)
        #expect(engine.watermark(0) == 3)  // b and the already complete c
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true) == [.storeOffsets([at(0, 3)])])
    }

    @Test func storeOffsetsAtMostEvery50msAndOnlyMovedWatermarks() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)  // its ticks start the interval
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 0, outputs: 0, now: clock.now)
        clock.advance(ms: 49)
        #expect(engine.tick(now: clock.now, idle: false) == [])
        clock.advance(ms: 1)
        #expect(engine.tick(now: clock.now, idle: false) == [.storeOffsets([at(0, 1), at(1, 1)])])
        // Only partition 1 moves.
        engine.handle(partition: 1, offset: 1, outputs: 0, now: clock.now)
        clock.advance(ms: 10)
        #expect(engine.tick(now: clock.now, idle: false) == [])
        clock.advance(ms: 40)
        #expect(engine.tick(now: clock.now, idle: false) == [.storeOffsets([at(1, 2)])])
        // Nothing moved: nothing stored.
        clock.advance(ms: 100)
        #expect(engine.tick(now: clock.now, idle: true) == [])
    }

    @Test func reportOfAnUnknownSlotIsUnknown() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        engine.deliver([slot], now: clock.now)
        #expect(engine.delivered(slot: slot, result: .delivered, now: clock.now) == .unknown)
        #expect(engine.delivered(slot: 999, result: .failed, now: clock.now) == .unknown)
        #expect(engine.delivered(slot: -1, result: .purged, now: clock.now) == .unknown)
        #expect(engine.watermark(0) == 1)
    }

    @Test func purgedOutputIsDroppedAndItsInputNeverCompletes() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        guard case .dropped = engine.delivered(slot: slot, result: .purged, now: clock.now) else {
            Issue.record("purged output not dropped")
            return
        }
        #expect(engine.inflightCount == 0)
        #expect(engine.watermark(0) == nil)
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true).storedOffsets == nil)
    }

    @Test func reachedEndIsClearedByTheNextRecord() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        engine.reachedEnd(partition: 0, offset: 1, now: clock.now)
        #expect(engine.partitions[0]?.atEnd == true)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(engine.partitions[0]?.atEnd == false)
    }

    /// An output acknowledged before the handler said how many outputs its input has (the layer polled the
    /// producer between two outputs, e.g. on a full queue) must not complete the input on its own.
    @Test func acknowledgementBeforeInputHandledDoesNotCompleteAnInputWithTwoOutputs() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        guard case .handle(let ticket, _) = engine.fetched(partition: 0, offset: 0, timestamp: nil, now: clock.now) else {
            Issue.record("not handled")
            return
        }
        let first = engine.outputCreated(for: ticket, kind: prediction, sourceTimestamp: nil, now: clock.now)
        engine.deliver([first], now: clock.now)
        let second = engine.outputCreated(for: ticket, kind: deadLetter, sourceTimestamp: nil, now: clock.now)
        engine.inputHandled(ticket)
        #expect(engine.watermark(0) == nil)
        engine.deliver([second], now: clock.now)
        #expect(engine.watermark(0) == 1)
    }
}

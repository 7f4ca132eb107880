@testable import StreamConsumer
import Testing

/// Revocations, eager re-assignments, cooperative rebalancing, lost partitions, and the stall regression.
@Suite struct EngineRebalanceTests {
    // MARK: - Revoke

    @Test func atLeastOnceRevokeCommitsTheContiguousWatermarkOnly() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let a = engine.handle(partition: 0, offset: 0, now: clock.now).slots
        let b = engine.handle(partition: 0, offset: 1, now: clock.now).slots
        let c = engine.handle(partition: 0, offset: 2, now: clock.now).slots
        engine.deliver(a + c, now: clock.now)
        #expect(b.count == 1)
        // Partition 1 handled nothing: nothing to commit, and nothing to park.
        let actions = engine.revoked([0, 1], incremental: false, now: clock.now)
        #expect(actions == [.commitOffsets([at(0, 1)]), .resetState([1])])
        #expect(engine.partitions.isEmpty)
        #expect(engine.parked == [0: ParkedPartition(position: 3)])
        #expect(engine.fetched(partition: 0, offset: 3, timestamp: nil, now: clock.now) == .discard)
    }

    @Test func lateDeliveryOfARevokedGenerationCompletesNothingEvenAfterReassignment() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: 0], now: clock.now)
        let old = engine.handle(partition: 0, offset: 0, now: clock.now).slots
        let stale = engine.handle(partition: 0, offset: 1, now: clock.now).slots
        #expect(engine.revoked([0], incremental: false, now: clock.now) == [])
        // The new owner committed nothing: back at 0, not where it left (2): reset.
        let back = engine.activate([0], committed: [0: 0], now: clock.now)
        #expect(back.committed == [.resetState([0])])
        guard case .acknowledged(let record) = engine.delivered(slot: old[0], result: .delivered, now: clock.now) else {
            Issue.record("late report not acknowledged")
            return
        }
        #expect(record.generation != engine.partitions[0]?.generation)
        #expect(engine.watermark(0) == nil)
        // The new generation's input 0 and a late report of the old input 1 (same sequence numbers as the new ones).
        let fresh = engine.handle(partition: 0, offset: 0, now: clock.now)
        let freshSecond = engine.handle(partition: 0, offset: 1, now: clock.now)
        #expect(fresh.ticket.sequence == 0)
        engine.deliver(stale, now: clock.now)
        #expect(engine.watermark(0) == nil)
        engine.deliver(fresh.slots, now: clock.now)
        #expect(engine.watermark(0) == 1)
        clock.advance(ms: 50)
        #expect(engine.tick(now: clock.now, idle: true) == [.storeOffsets([at(0, 1)])])
        #expect(freshSecond.slots.count == 1)
    }

    @Test func failedDeliveryOfARevokedPartitionIsDroppedNotRetried() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        _ = engine.revoked([0], incremental: true, now: clock.now)
        guard case .dropped = engine.delivered(slot: slot, result: .failed, now: clock.now) else {
            Issue.record("failure of a revoked partition's output was not dropped")
            return
        }
        #expect(engine.acceptsRecords)
        #expect(engine.inflightCount == 0)
    }

    @Test func dueRetriesOfARevokedPartitionAreDropped() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(retryInitialMs: 100)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let lost = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let kept = engine.handle(partition: 1, offset: 0, now: clock.now).slots[0]
        _ = engine.delivered(slot: lost, result: .failed, now: clock.now)
        _ = engine.delivered(slot: kept, result: .failed, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).paused == [0, 1])
        _ = engine.revoked([0], incremental: true, now: clock.now)
        // Dropped at once, before its back-off is due; the other one waits.
        #expect(engine.tick(now: clock.now, idle: true) == [.dropRetry(slot: lost)])
        #expect(engine.inflightCount == 1)
        #expect(engine.delivered(slot: lost, result: .delivered, now: clock.now) == .unknown)
        clock.advance(ms: 100)
        #expect(engine.tick(now: clock.now, idle: true) == [.produceAgain(slot: kept)])
    }

    // MARK: - Eager re-assignment

    @Test func partitionBackAtThePositionItLeftKeepsItsState() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: 7, 1: 3], now: clock.now)
        engine.handle(partition: 0, offset: 7, outputs: 0, now: clock.now)
        let slot = engine.handle(partition: 1, offset: 3, now: clock.now).slots
        engine.deliver(slot, now: clock.now)
        let generation = engine.partitions[0]!.generation
        #expect(engine.revoked([0, 1], incremental: false, now: clock.now) == [.commitOffsets([at(0, 8), at(1, 4)])])
        #expect(engine.parked == [0: ParkedPartition(position: 8), 1: ParkedPartition(position: 4)])

        let back = engine.activate([0, 1], committed: [0: 8, 1: 4], now: clock.now)
        #expect(back.assigned == [.pause([0, 1])])
        #expect(back.committed == [])
        #expect(back.resumeTick == [.resume([0, 1])])
        #expect(engine.parked.isEmpty)
        #expect(engine.partitions[0]?.generation != generation)
        #expect(engine.partitions[0]?.position == 8)
    }

    @Test func partitionBackAtAnotherOffsetIsResetAndRebuilt() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: 7, 1: 3], now: clock.now)
        engine.handle(partition: 0, offset: 7, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 3, outputs: 0, now: clock.now)
        _ = engine.revoked([0, 1], incremental: false, now: clock.now)
        // Another member moved partition 0 on meanwhile; partition 1 is where it left.
        let back = engine.activate([0, 1], committed: [0: 20, 1: 4], now: clock.now)
        #expect(back.committed == [.resetState([0]), .rebuild(partition: 0, before: 20)])
        #expect(engine.partitions[0]?.position == 20)
        #expect(engine.parked.isEmpty)
    }

    @Test func partitionBackWithoutCommittedOffsetIsReset() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: 7], now: clock.now)
        engine.handle(partition: 0, offset: 7, outputs: 0, now: clock.now)
        _ = engine.revoked([0], incremental: false, now: clock.now)
        let back = engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(back.committed == [.resetState([0])])
    }

    /// A lost assignment only quiesces the handler stage: records collected for it were admitted (the position
    /// counts them) but never handled. Parking that position would let a return "at the position it left" keep
    /// state without those records; such a partition is reset and rebuilt instead.
    @Test func partitionWithRecordsTheHandlerNeverSawIsNotParked() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: 7, 1: 3], now: clock.now)
        engine.handle(partition: 0, offset: 7, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 3, outputs: 0, now: clock.now)
        #expect(engine.lost([0, 1], incremental: false, unhandled: [1], now: clock.now) == [.resetState([1])])
        #expect(engine.parked == [0: ParkedPartition(position: 8)])
        let back = engine.activate([0, 1], committed: [0: 8, 1: 4], now: clock.now)
        #expect(back.committed == [.resetState([1]), .rebuild(partition: 1, before: 4)])
    }

    @Test func parkedPartitionsNotReassignedAreResetAtTheNextEagerAssignment() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1, 2], committed: [0: 1, 1: 1, 2: 1], now: clock.now)
        for id: Int32 in [0, 1, 2] { engine.handle(partition: id, offset: 1, outputs: 0, now: clock.now) }
        _ = engine.revoked([0, 1, 2], incremental: false, now: clock.now)
        #expect(engine.parked.count == 3)
        #expect(engine.assigned([1], incremental: false, now: clock.now) == [.resetState([0, 2]), .pause([1])])
        #expect(engine.parked == [1: ParkedPartition(position: 2)])
        // A later eager assignment without it resets it, once.
        #expect(engine.assigned([], incremental: false, now: clock.now) == [.resetState([1])])
        #expect(engine.assigned([], incremental: false, now: clock.now) == [])
    }

    /// Eager rebalances back to back: a parked partition is re-assigned, and revoked again before its committed
    /// offset was looked up. That revoke resets its state; it must then not come back "at the position it left"
    /// with that (now empty) state and skip the rebuild.
    @Test func partitionRevokedAgainBeforeItsLookUpIsRebuiltWhenItComesBack() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: 1], now: clock.now)
        engine.handle(partition: 0, offset: 1, outputs: 0, now: clock.now)
        #expect(engine.revoked([0], incremental: false, now: clock.now) == [.commitOffsets([at(0, 2)])])
        #expect(engine.assigned([0], incremental: false, now: clock.now) == [.pause([0])])
        let second = engine.revoked([0], incremental: false, now: clock.now)
        let back = engine.activate([0], committed: [0: 2], now: clock.now)
        let stateWasReset = second.resetStates?.contains(0) == true
        #expect(!stateWasReset || back.committed == [.resetState([0]), .rebuild(partition: 0, before: 2)],
                "revoke answered \(second), re-assignment answered \(back.committed)")
    }

    @Test func incrementalAssignmentLeavesParkedPartitionsAlone() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0], committed: [0: 1], now: clock.now)
        engine.handle(partition: 0, offset: 1, outputs: 0, now: clock.now)
        _ = engine.revoked([0], incremental: false, now: clock.now)
        #expect(engine.assigned([5], incremental: true, now: clock.now) == [.pause([5])])
        #expect(engine.parked[0] != nil)
    }

    @Test func revokedPartitionThatWasNotActiveIsResetAtOnce() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        _ = engine.assigned([0, 1], incremental: false, now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        _ = engine.committedOffsets([0: 10, 1: nil], now: clock.now)
        #expect(engine.partitions[0]?.phase == .rebuilding)
        #expect(engine.revoked([0, 1], incremental: false, now: clock.now) == [.resetState([0, 1])])
        #expect(engine.parked.isEmpty)
        // A late rebuild end changes nothing.
        engine.rebuildFinished(partition: 0, now: clock.now)
        #expect(engine.partitions[0] == nil)
    }

    @Test func revokeBeforeTheCommittedOffsetArrivesIgnoresTheLateAnswer() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        _ = engine.assigned([0], incremental: false, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0])])
        _ = engine.revoked([0], incremental: false, now: clock.now)
        #expect(engine.committedOffsets([0: 5], now: clock.now) == [])
        #expect(engine.partitions[0] == nil)
        #expect(engine.lookUpsRequested.isEmpty)
        // Re-assigned: asked again.
        _ = engine.assigned([0], incremental: false, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0])])
    }

    // MARK: - Cooperative

    @Test func cooperativeRevokeResetsTheRevokedAndKeepsTheOthers() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1, 2], committed: [0: nil, 1: nil, 2: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 0, outputs: 0, now: clock.now)
        let pending = engine.handle(partition: 2, offset: 0, now: clock.now).slots
        let before0 = engine.partitions[0]
        let before2 = engine.partitions[2]
        #expect(engine.revoked([1], incremental: true, now: clock.now) == [.commitOffsets([at(1, 1)]), .resetState([1])])
        #expect(engine.parked.isEmpty)
        #expect(engine.partitions[0] == before0)
        #expect(engine.partitions[2] == before2)
        #expect(engine.partitions[1] == nil)
        // The others go on: no pause, their outputs still complete.
        #expect(engine.tick(now: clock.now, idle: true).paused == nil)
        engine.deliver(pending, now: clock.now)
        #expect(engine.watermark(2) == 1)
        // Incremental assignment adds to the assignment, leaves the others alone.
        let added = engine.activate([1], committed: [1: 1], incremental: true, now: clock.now)
        #expect(added.assigned == [.pause([1])])
        #expect(engine.partitions[0]?.generation == before0?.generation)
    }

    // MARK: - Lost

    @Test func lostPartitionsCommitNothingAtLeastOnce() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 0, outputs: 0, now: clock.now)
        #expect(engine.lost([0], incremental: true, now: clock.now) == [.resetState([0])])
        let eager = engine.lost([1], incremental: false, now: clock.now)
        #expect(eager.commitOffsetsSent == nil)
        #expect(eager.storedOffsets == nil)
        #expect(engine.partitions.isEmpty)
    }

    @Test func lostPartitionsAbortAnOpenTransaction() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        #expect(engine.lost([1], incremental: true, now: clock.now) == [.resetState([1])])  // no transaction yet
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(engine.commits.transaction != nil)
        let actions = engine.lost([0], incremental: true, now: clock.now)
        #expect(actions == [.abortTransaction, .resetState([0])])
        // The aborted transaction's partitions are gone: nothing to rewind.
        #expect(engine.transactionAborted(now: clock.now) == [])
        #expect(engine.commits.transaction == nil)
    }

    // MARK: - The stall regression

    /// Back-pressure paused fetching, the brokers went away, the session expired (all partitions lost), the
    /// retries were dropped, and the same partitions came back: every one of them must be resumed.
    @Test func partitionsLostUnderBackPressureAreResumedWhenAssignedAgain() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(retryInitialMs: 100)
        engine.activate([0, 1, 2], committed: [0: 10, 1: 5, 2: 7], now: clock.now)
        let failing = engine.handle(partition: 0, offset: 10, now: clock.now).slots[0]
        engine.deliver(engine.handle(partition: 1, offset: 5, now: clock.now).slots, now: clock.now)
        engine.handle(partition: 2, offset: 7, outputs: 0, now: clock.now)
        _ = engine.delivered(slot: failing, result: .failed, now: clock.now)
        let pressure = engine.tick(now: clock.now, idle: true)
        #expect(pressure.paused == [0, 1, 2])
        #expect(!engine.acceptsRecords)

        clock.advance(ms: 45_000)
        #expect(engine.lost([0, 1, 2], incremental: false, now: clock.now).commitOffsetsSent == nil)
        let dropped = engine.tick(now: clock.now, idle: true)
        #expect(dropped.droppedRetries == [failing])
        #expect(dropped.contains(.backPressure(false)))
        #expect(dropped.resumed == nil)  // nothing assigned

        // Same partitions again; 1 and 2 come back where they left, 0 was never stored past 10.
        clock.advance(ms: 3_000)
        let back = engine.activate([0, 1, 2], committed: [0: 10, 1: 6, 2: 8], now: clock.now)
        #expect(back.committed == [.resetState([0]), .rebuild(partition: 0, before: 10)])
        #expect(back.resumeTick == [.resume([0, 1, 2])])
        #expect(engine.acceptsRecords)
        for id: Int32 in [0, 1, 2] {
            #expect(engine.partitions[id]?.fetchPaused == false)
        }
        #expect(engine.fetched(partition: 0, offset: 10, timestamp: nil, now: clock.now) != .discard)
    }

    /// Same, but the partitions come back before any tick dropped the retry.
    @Test func partitionsLostAndReassignedBeforeTheNextTickAreResumed() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let failing = engine.handle(partition: 1, offset: 0, now: clock.now).slots[0]
        _ = engine.delivered(slot: failing, result: .failed, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).paused == [0, 1])
        _ = engine.lost([0, 1], incremental: false, now: clock.now)
        let back = engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        #expect(back.lookUpTick.droppedRetries == [failing])
        #expect(back.resumeTick == [.resume([0, 1])])
    }

    /// Same, with back-pressure from outputs of the lost generation still unacknowledged: resumed once their
    /// late reports drain the table.
    @Test func partitionsLostUnderMaxInflightAreResumedWhenTheLateReportsDrain() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce(maxInflight: 2)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let a = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let b = engine.handle(partition: 1, offset: 0, now: clock.now).slots[0]
        #expect(engine.tick(now: clock.now, idle: true).paused == [0, 1])
        _ = engine.lost([0, 1], incremental: false, now: clock.now)
        let back = engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now, expectResume: false)
        #expect(back.resumeTick.resumed == nil)
        guard case .dropped = engine.delivered(slot: a, result: .failed, now: clock.now) else {
            Issue.record("late failure of a lost partition's output was not dropped")
            return
        }
        #expect(engine.delivered(slot: b, result: .delivered, now: clock.now) != .unknown)
        #expect(engine.watermark(1) == nil)
        #expect(engine.tick(now: clock.now, idle: true) == [.backPressure(false), .resume([0, 1])])
    }
}

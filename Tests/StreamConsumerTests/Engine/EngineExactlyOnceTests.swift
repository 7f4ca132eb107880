@testable import StreamConsumer
import Testing

/// Exactly-once: transactions, their commits and aborts, and the rewind after an abort.
@Suite struct EngineExactlyOnceTests {
    @Test func firstRecordBeginsTheTransaction() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        guard case .handle(let first, beginTransaction: true) = engine.fetched(partition: 0, offset: 0, timestamp: nil, now: clock.now) else {
            Issue.record("first record does not begin a transaction")
            return
        }
        #expect(first.sequence == 0)
        guard case .handle(_, beginTransaction: false) = engine.fetched(partition: 0, offset: 1, timestamp: nil, now: clock.now),
              case .handle(_, beginTransaction: false) = engine.fetched(partition: 1, offset: 0, timestamp: nil, now: clock.now)
        else {
            Issue.record("later records begin a transaction")
            return
        }
        #expect(engine.commits.transaction?.records == 3)
        #expect(engine.commits.transaction?.positions == [0: 2, 1: 1])
        #expect(engine.commits.transaction?.startedNanos == clock.now)
    }

    @Test func commitsWhenTheTransactionHasMaxRecords() {
        let clock = FakeClock()
        var engine = makeExactlyOnce(maxRecords: 3, maxAgeMillis: 10_000)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.handle(partition: 0, offset: 1, outputs: 1, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: false) == [])
        engine.handle(partition: 1, offset: 0, outputs: 0, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: false) == [.commitTransaction([at(0, 2), at(1, 1)])])
        #expect(engine.transactionCommitted(.committed, now: clock.now) == [])
        #expect(engine.commits.transaction == nil)
        #expect(engine.tick(now: clock.now, idle: true) == [])
        guard case .handle(_, beginTransaction: true) = engine.fetched(partition: 1, offset: 1, timestamp: nil, now: clock.now) else {
            Issue.record("the next record does not begin a new transaction")
            return
        }
    }

    @Test func commitsWhenTheTransactionIsMaxAgeOld() {
        var clock = FakeClock()
        var engine = makeExactlyOnce(maxRecords: 1_000, maxAgeMillis: 100)
        engine.activate([0], committed: [0: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        clock.advance(ms: 60)
        engine.handle(partition: 0, offset: 1, outputs: 0, now: clock.now)
        clock.advance(ms: 39)
        #expect(engine.tick(now: clock.now, idle: false) == [])
        clock.advance(ms: 1)
        #expect(engine.tick(now: clock.now, idle: false) == [.commitTransaction([at(0, 2)])])
    }

    @Test func commitsWhenIdle() {
        let clock = FakeClock()
        var engine = makeExactlyOnce(maxRecords: 1_000, maxAgeMillis: 10_000)
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [])  // no transaction: nothing to commit
        engine.handle(partition: 0, offset: 4, outputs: 0, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: false) == [])
        let actions = engine.tick(now: clock.now, idle: true)
        #expect(actions == [.commitTransaction([at(0, 5)])])
        #expect(actions.storedOffsets == nil)
    }

    @Test func failedDeliveryAbortsAndTheTransactionsPartitionsAreRewound() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: 5, 1: nil], now: clock.now)
        let firstSlots = engine.handle(partition: 0, offset: 5, now: clock.now).slots
        let failing = engine.handle(partition: 0, offset: 6, now: clock.now).slots[0]
        let oldGeneration = engine.partitions[0]!.generation
        let untouched = engine.partitions[1]

        guard case .dropped = engine.delivered(slot: failing, result: .failed, now: clock.now) else {
            Issue.record("failed output not dropped")
            return
        }
        #expect(!engine.acceptsRecords)  // nothing is retried in this mode, and a doomed transaction takes no more
        #expect(engine.inflightCount == 1)
        #expect(engine.tick(now: clock.now, idle: true) == [.abortTransaction])

        #expect(engine.transactionAborted(now: clock.now) == [.pause([0])])
        #expect(engine.commits.transaction == nil)
        #expect(engine.partitions[0]?.phase == .awaitingCommitted(rewind: true))
        #expect(engine.partitions[0]?.generation != oldGeneration)
        #expect(engine.partitions[1] == untouched)
        // Fetched before the pause took effect: dropped, the seek moves the partition back anyway.
        #expect(engine.fetched(partition: 0, offset: 7, timestamp: nil, now: clock.now) == .discard)
        #expect(engine.partitions[0]?.heldFrom == nil)

        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0])])
        #expect(engine.committedOffsets([0: 5], now: clock.now)
            == [.resetState([0]), .seek([at(0, 5)]), .rebuild(partition: 0, before: 5)])
        #expect(engine.partitions[0]?.phase == .rebuilding)
        #expect(engine.tick(now: clock.now, idle: true) == [])
        engine.rebuildFinished(partition: 0, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([0])])

        // A late acknowledgement of the aborted transaction completes nothing of the new generation.
        engine.deliver(firstSlots, now: clock.now)
        #expect(engine.watermark(0) == nil)
        guard case .handle(let ticket, beginTransaction: true) = engine.fetched(partition: 0, offset: 5, timestamp: nil, now: clock.now) else {
            Issue.record("rewound partition not handled in a new transaction")
            return
        }
        #expect(ticket.sequence == 0)
    }

    /// Nothing committed yet (the partition started where `auto.offset.reset` said, e.g. `latest`): the rewind
    /// goes back to where the aborted transaction began there, with empty state as then — not to the log's
    /// beginning, which would process records this consumer never started from.
    @Test func rewindWithoutCommittedOffsetSeeksToTheAbortedTransactionsStart() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([3], committed: [3: nil], now: clock.now)
        let slot = engine.handle(partition: 3, offset: 40, now: clock.now).slots[0]
        engine.handle(partition: 3, offset: 41, outputs: 0, now: clock.now)
        _ = engine.delivered(slot: slot, result: .failed, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: false) == [.abortTransaction])
        #expect(engine.transactionAborted(now: clock.now) == [.pause([3])])
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([3])])
        #expect(engine.committedOffsets([3: nil], now: clock.now) == [.resetState([3]), .seek([at(3, 40)])])
        #expect(engine.partitions[3]?.phase == .active)
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([3])])
        #expect(engine.fetched(partition: 3, offset: 39, timestamp: nil, now: clock.now) == .discard)
    }

    /// The committed-offset look-up after an abort fails (the coordinator is away): the rewind still goes to
    /// the aborted transaction's first offset — the committed position it could not read — and rebuilds the
    /// state before it. Seeking to the beginning would publish every committed input's outputs again.
    @Test func rewindWhoseLookUpFailedGoesBackToTheAbortedTransactionsStart() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: 5, 1: 9], now: clock.now)
        engine.handle(partition: 0, offset: 5, outputs: 0, now: clock.now)
        engine.handle(partition: 0, offset: 6, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 9, outputs: 0, now: clock.now)
        #expect(engine.transactionCommitted(.abortRequired, now: clock.now) == [.abortTransaction])
        #expect(engine.transactionAborted(now: clock.now) == [.pause([0, 1])])
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0, 1])])
        let actions = engine.committedOffsets([0: nil, 1: nil], failed: [0, 1], now: clock.now)
        #expect(actions == [
            .resetState([0, 1]), .seek([at(0, 5), at(1, 9)]), .rebuild(partition: 0, before: 5), .rebuild(partition: 1, before: 9),
        ])
        // A newly assigned partition whose look-up fails starts where librdkafka fetches from, with empty state.
        _ = engine.assigned([0, 1, 2], incremental: false, now: clock.now)
        #expect(engine.committedOffsets([2: nil], failed: [2], now: clock.now) == [.resetState([2])])
        #expect(engine.partitions[2]?.phase == .active)
    }

    @Test func rewindOfPartitionsWithoutRebuild() {
        let clock = FakeClock()
        var engine = makeExactlyOnce(rebuild: false)
        engine.activate([0, 1], committed: [0: 3, 1: 8], now: clock.now)
        engine.handle(partition: 0, offset: 3, outputs: 0, now: clock.now)
        engine.handle(partition: 1, offset: 8, outputs: 0, now: clock.now)
        #expect(engine.transactionCommitted(.abortRequired, now: clock.now) == [.abortTransaction])
        #expect(engine.transactionAborted(now: clock.now) == [.pause([0, 1])])
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0, 1])])
        #expect(engine.committedOffsets([0: 3, 1: 8], now: clock.now) == [.resetState([0, 1]), .seek([at(0, 3), at(1, 8)])])
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([0, 1])])
    }

    /// A commit that timed out goes on in librdkafka: the next tick resumes it (due or not), with the same
    /// positions — no record joins the transaction meanwhile, and fetching pauses until it is settled.
    @Test func retriableCommitIsResumedAtTheNextTickWithNoRecordJoining() {
        let clock = FakeClock()
        var engine = makeExactlyOnce(maxRecords: 1_000, maxAgeMillis: 10_000)
        engine.activate([0], committed: [0: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(engine.acceptsRecords)
        #expect(engine.tick(now: clock.now, idle: true) == [.commitTransaction([at(0, 1)])])
        #expect(engine.transactionCommitted(.retriable, now: clock.now) == [])
        #expect(engine.commits.transaction?.committing == true)
        #expect(!engine.acceptsRecords)
        // Not idle, young, few records: resumed all the same; fetching pauses while it is settled.
        #expect(engine.tick(now: clock.now, idle: false) == [.commitTransaction([at(0, 1)]), .pause([0])])
        #expect(engine.transactionCommitted(.committed, now: clock.now) == [])
        #expect(engine.acceptsRecords)
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([0])])
    }

    /// An abort that timed out is resumed at the next tick; a lost assignment's abort too (its positions can
    /// never be committed, whatever the abort call said).
    @Test func abortIsAskedForAgainUntilItIsDone() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: 2, 1: nil], now: clock.now)
        engine.handle(partition: 0, offset: 2, outputs: 0, now: clock.now)
        #expect(engine.transactionCommitted(.abortRequired, now: clock.now) == [.abortTransaction])
        // The abort call timed out: asked for again, fetching paused until it is done; partition 1 resumes after.
        engine.transactionAbortTimedOut(now: clock.now)
        #expect(!engine.acceptsRecords)
        #expect(engine.tick(now: clock.now, idle: true) == [.abortTransaction, .pause([0, 1])])
        #expect(engine.transactionAborted(now: clock.now) == [.pause([0])])
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0]), .resume([1])])

        var losing = makeExactlyOnce()
        losing.activate([0], committed: [0: nil], now: clock.now)
        losing.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(losing.lost([0], incremental: false, now: clock.now).contains(.abortTransaction))
        #expect(losing.tick(now: clock.now, idle: true) == [.abortTransaction])
    }

    /// The transaction fails while its timed-out commit is pending (an output's failure reported during the
    /// commit's flush, or its partitions lost): librdkafka refuses an abort while the commit call is pending
    /// (`__CONFLICT`, for ever), so the commit is resumed first; its abortable error then lets the abort go.
    @Test func failureDuringAPendingCommitResumesTheCommitBeforeAborting() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: 4, 1: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 4, now: clock.now).slots[0]
        #expect(engine.tick(now: clock.now, idle: true) == [.commitTransaction([at(0, 5)])])
        #expect(engine.transactionCommitted(.retriable, now: clock.now) == [])
        _ = engine.delivered(slot: slot, result: .failed, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).transactionCommits == [[at(0, 5)]])
        #expect(engine.transactionCommitted(.abortRequired, now: clock.now) == [.abortTransaction])
        #expect(engine.transactionAborted(now: clock.now) == [.pause([0])])

        // Lost while the commit is pending: resumed as well, not aborted under it.
        var losing = makeExactlyOnce()
        losing.activate([0], committed: [0: nil], now: clock.now)
        losing.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(losing.tick(now: clock.now, idle: true) == [.commitTransaction([at(0, 1)])])
        #expect(losing.transactionCommitted(.retriable, now: clock.now) == [])
        #expect(losing.lost([0], incremental: false, now: clock.now).aborts == 0)
        #expect(losing.tick(now: clock.now, idle: true) == [.commitTransaction([at(0, 1)])])
    }

    /// A lost assignment's abort times out; the partition is assigned again (from offsets looked up afresh)
    /// before the abort completes. The late abort must not move the new assignment back to the old
    /// transaction's first offset.
    @Test func lateAbortDoesNotRewindAPartitionAssignedAgainMeanwhile() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: 10], now: clock.now)
        engine.handle(partition: 0, offset: 10, outputs: 0, now: clock.now)
        #expect(engine.lost([0], incremental: false, now: clock.now).contains(.abortTransaction))
        engine.transactionAbortTimedOut(now: clock.now)
        // Fetching stays paused while the abort settles.
        engine.activate([0], committed: [0: 10], now: clock.now, expectResume: false)
        let state = engine.partitions[0]
        #expect(engine.transactionAborted(now: clock.now) == [])
        #expect(engine.partitions[0] == state)
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([0])])
    }

    /// A rebalance served while an input's outputs are only partly produced (the producer queue was full and its
    /// wait polled the consumer): the revoke aborts instead of committing the input's position without them.
    @Test func revokeWhileAnInputIsPartlyProducedAborts() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.inputPartlyProduced()
        #expect(engine.revoked([0], incremental: false, now: clock.now).contains(.abortTransaction))
    }

    @Test func abortRequiredCommitAbortsAndRewinds() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: 2], now: clock.now)
        engine.handle(partition: 0, offset: 2, outputs: 0, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.commitTransaction([at(0, 3)])])
        #expect(engine.transactionCommitted(.abortRequired, now: clock.now) == [.abortTransaction])
        #expect(engine.transactionAborted(now: clock.now) == [.pause([0])])
        #expect(engine.partitions[0]?.phase == .awaitingCommitted(rewind: true))
    }

    @Test func abortWithoutTransactionRewindsNothing() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(engine.transactionAborted(now: clock.now) == [])
        #expect(engine.partitions[0]?.phase == .active)
    }

    @Test func revokeSettlesTheOpenTransaction() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        #expect(engine.revoked([1], incremental: true, now: clock.now) == [.resetState([1])])  // no transaction
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        let actions = engine.revoked([0], incremental: false, now: clock.now)
        #expect(actions == [.commitTransaction([at(0, 1)])])
        #expect(actions.commitOffsetsSent == nil)

        var failing = makeExactlyOnce()
        failing.activate([0], committed: [0: nil], now: clock.now)
        let slot = failing.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        _ = failing.delivered(slot: slot, result: .failed, now: clock.now)
        #expect(failing.revoked([0], incremental: true, now: clock.now) == [.abortTransaction, .resetState([0])])
    }

    @Test func failedDeliveryNeverProducesAgain() {
        var clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slot = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        _ = engine.delivered(slot: slot, result: .failed, now: clock.now)
        clock.advance(ms: 10_000)
        let actions = engine.tick(now: clock.now, idle: true)
        #expect(actions.reproducedSlots.isEmpty)
        #expect(!actions.contains(.backPressure(true)))
        #expect(engine.retrySlots.isEmpty)
    }

    /// A failure report of an output of an already aborted transaction (its partition rewound, a new
    /// transaction open for another partition) must not fail the new transaction.
    @Test func staleFailureOfAnAbortedTransactionDoesNotFailTheNextOne() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let late = engine.handle(partition: 0, offset: 0, now: clock.now).slots[0]
        let failing = engine.handle(partition: 0, offset: 1, now: clock.now).slots[0]
        _ = engine.delivered(slot: failing, result: .failed, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.abortTransaction])
        #expect(engine.transactionAborted(now: clock.now) == [.pause([0])])
        // Partition 1 goes on in a new transaction.
        guard case .handle(_, beginTransaction: true) = engine.fetched(partition: 1, offset: 0, timestamp: nil, now: clock.now) else {
            Issue.record("no new transaction")
            return
        }
        guard case .dropped = engine.delivered(slot: late, result: .failed, now: clock.now) else {
            Issue.record("stale failure not dropped")
            return
        }
        let actions = engine.tick(now: clock.now, idle: true)
        #expect(actions.transactionCommits == [[at(1, 1)]])
        #expect(actions.aborts == 0)
    }

    /// A record of the rewound partition that still reaches the engine after the rewind's seek (while the
    /// partition rebuilds) must not move the position forward past the committed offset.
    @Test func recordHeldDuringTheRewindRebuildDoesNotSkipPastTheCommittedOffset() {
        let clock = FakeClock()
        var engine = makeExactlyOnce()
        engine.activate([0], committed: [0: 5], now: clock.now)
        for offset: Int64 in 5...9 { engine.handle(partition: 0, offset: offset, outputs: 0, now: clock.now) }
        #expect(engine.transactionCommitted(.abortRequired, now: clock.now) == [.abortTransaction])
        _ = engine.transactionAborted(now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        #expect(engine.committedOffsets([0: 5], now: clock.now) == [.resetState([0]), .seek([at(0, 5)]), .rebuild(partition: 0, before: 5)])
        // A prefetched record from before the seek.
        #expect(engine.fetched(partition: 0, offset: 10, timestamp: nil, now: clock.now) == .discard)
        engine.rebuildFinished(partition: 0, now: clock.now)
        let resume = engine.tick(now: clock.now, idle: true)
        #expect(resume.resumed == [0])
        #expect((resume.seeks ?? []).allSatisfy { $0.offset <= 5 }, "\(resume)")
    }
}

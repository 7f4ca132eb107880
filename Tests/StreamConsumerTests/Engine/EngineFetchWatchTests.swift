@testable import StreamConsumer
import Testing

/// The fetch watch: a partition that should be delivering and stays silent is restarted — and only such a one.
@Suite struct EngineFetchWatchTests {
    private let window: UInt64 = 30_000

    /// Advances the clock by `ms`, letting the watch look once a second as the driver does; returns what it asked
    /// for on the way.
    private func watch(
        _ engine: inout AtLeastOnceEngine, _ clock: inout FakeClock, ms: UInt64, brokersReachable: Bool = true
    ) -> [EngineAction] {
        var actions: [EngineAction] = []
        var left = ms
        while left > 0 {
            let step = min(left, 1_000)
            clock.advance(ms: step)
            left -= step
            actions += engine.checkFetching(now: clock.now, brokersReachable: brokersReachable)
        }
        return actions
    }

    /// The benchmark's stalled partition: assigned, nothing committed, resumed, and then nothing at all from
    /// librdkafka — no record, no end-of-partition.
    @Test func partitionThatNeverDeliversIsRestartedAtTheResetOffsetAfterTheWindow() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(watch(&engine, &clock, ms: window - 1) == [])
        #expect(watch(&engine, &clock, ms: 1) == [.restartFetch([at(0, -2)])])
        // Measured again from the restart: not restarted on every pass.
        #expect(watch(&engine, &clock, ms: window - 1) == [])
        #expect(watch(&engine, &clock, ms: 1) == [.restartFetch([at(0, -2)])])
        // Once it delivers, it is left alone.
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(watch(&engine, &clock, ms: window - 1) == [])
    }

    @Test func partitionThatStopsMidStreamIsRestartedAtItsNextOffset() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([3], committed: [3: 100], now: clock.now)
        engine.handle(partition: 3, offset: 100, outputs: 0, now: clock.now)
        engine.handle(partition: 3, offset: 101, outputs: 0, now: clock.now)
        #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(3, 102)])])
    }

    /// Committed but nothing handled since: the committed offset is its position.
    @Test func restartOfAPartitionWithACommittedOffsetStartsThere() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(rebuild: false, fetchStallMs: window)
        engine.activate([2], committed: [2: 40], now: clock.now)
        #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(2, 40)])])
    }

    /// At its end and silent: usually idle. Its end is looked up; it is restarted only if the log grew past the
    /// end librdkafka reported (records it was not given), and asked again only a window later.
    @Test func silentPartitionAtItsEndIsRestartedOnlyIfItsLogGrew() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        engine.reachedEnd(partition: 0, offset: 1, now: clock.now)
        engine.reachedEnd(partition: 1, offset: 7, now: clock.now)
        #expect(watch(&engine, &clock, ms: window) == [.lookUpEnds([0, 1])])
        // Partition 0 idle (its log still ends at 1), partition 1 grew: restarted where its end was (nothing
        // handled), not at the reset offset.
        #expect(engine.endsLookedUp([0: 1, 1: 9], now: clock.now) == [.restartFetch([at(1, 7)])])
        #expect(watch(&engine, &clock, ms: window - 1) == [])
        #expect(watch(&engine, &clock, ms: 1) == [.lookUpEnds([0, 1])])
        // Grown past where partition 0's position is: restarted at its next offset to handle.
        #expect(engine.endsLookedUp([0: 5], now: clock.now) == [.restartFetch([at(0, 1)])])
        // An answer for a partition that delivered meanwhile restarts nothing.
        engine.handle(partition: 1, offset: 7, outputs: 0, now: clock.now)
        #expect(engine.endsLookedUp([1: 9], now: clock.now) == [])
    }

    /// Restarts that bring nothing: after three, the partition's end is looked up instead, and it is assigned again
    /// (only an assignment gives it a new fetcher) if its leader answers and records wait past its position —
    /// not if the look-up could not read its end (its leader down: no restart helps, and reassigning the whole
    /// eager assignment every two minutes would only cost). Both ways to a restart count (silent mid-stream, and
    /// silent at an end the log has grown past); a delivery in between starts the count again.
    @Test func partitionSilentThroughThreeRestartsIsAssignedAgainIfRecordsWait() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0, 1, 2], committed: [0: 10, 1: nil, 2: 5], now: clock.now)
        engine.handle(partition: 1, offset: 0, outputs: 0, now: clock.now)
        engine.reachedEnd(partition: 1, offset: 1, now: clock.now)
        for _ in 0..<3 {
            #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(0, 10), at(2, 5)]), .lookUpEnds([1])])
            #expect(engine.endsLookedUp([1: 50], now: clock.now) == [.restartFetch([at(1, 1)])])
        }
        #expect(watch(&engine, &clock, ms: window) == [.lookUpEnds([0, 1, 2])])
        // Partition 2's leader did not answer: left alone (and asked again next window).
        #expect(engine.endsLookedUp([0: 50, 1: 50], now: clock.now) == [.assignAgain([0, 1], .silentThroughRestarts)])
        #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(0, 10)]), .lookUpEnds([1, 2])])
        // Nothing waits past partition 2's position: nothing to assign it again for.
        #expect(engine.endsLookedUp([2: 5], now: clock.now) == [])
        // A record from partition 0: its count starts again.
        engine.handle(partition: 0, offset: 10, outputs: 0, now: clock.now)
        for _ in 0..<3 {
            #expect(watch(&engine, &clock, ms: window).first == .restartFetch([at(0, 11)]))
        }
        #expect(watch(&engine, &clock, ms: window).last == .lookUpEnds([0, 1, 2]))
        #expect(engine.endsLookedUp([0: 12], now: clock.now) == [.assignAgain([0], .silentThroughRestarts)])
    }

    /// A reassignment that brings nothing either: the next waits for twice as many restarts, up to 16 times as
    /// many (each reassignment of an eager assignment pauses, flushes and commits every partition); anything
    /// delivered starts the count again. The partition's state is replaced by each reassignment (revoke, assign),
    /// as the driver does it; the back-off is not.
    @Test func reassignmentsThatBringNothingBackOffByDoubling() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0], committed: [0: 10], now: clock.now)
        /// Windows of silence until the watch assigns partition 0 again (its leader says records wait), then
        /// reassigns it as the driver would.
        func windowsUntilAssignedAgain() -> Int {
            for windows in 1...200 {
                let asked = watch(&engine, &clock, ms: window)
                guard asked == [.lookUpEnds([0])] else {
                    #expect(asked.count == 1 && asked.first.map(Self.isRestart(ofPartition: 0)) == true, "\(asked)")
                    continue
                }
                let repair = engine.endsLookedUp([0: 50], now: clock.now)
                guard repair == [.assignAgain([0], .silentThroughRestarts)] else {
                    Issue.record("leader said records wait, yet no reassignment: \(repair)")
                    return windows
                }
                engine.assigningAgain([0])
                _ = engine.revoked([0], incremental: false, now: clock.now)
                engine.activate([0], committed: [0: 10], now: clock.now)
                return windows
            }
            return -1
        }
        // 3 restarts, then the look-up's window: 4, 7, 13, 25, 49 windows, and 49 from then on.
        #expect((0..<6).map { _ in windowsUntilAssignedAgain() } == [4, 7, 13, 25, 49, 49])
        #expect(engine.reassignsInVain == [0: 6])
        // A record: the partition's fetcher works again, and a later stall is repaired after 3 restarts again.
        engine.handle(partition: 0, offset: 10, outputs: 0, now: clock.now)
        #expect(engine.reassignsInVain == [:])
        #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(0, 11)])])
        // Reassigned in vain again, then lost, or revoked by the group (cooperative): no back-off when it comes back.
        _ = windowsUntilAssignedAgain()
        #expect(engine.reassignsInVain == [0: 1])
        _ = engine.lost([0], incremental: false, now: clock.now)
        #expect(engine.reassignsInVain == [:])
        engine.activate([0], committed: [0: 10], now: clock.now)
        _ = windowsUntilAssignedAgain()
        #expect(engine.reassignsInVain == [0: 1])
        _ = engine.revoked([0], incremental: true, now: clock.now)
        #expect(engine.reassignsInVain == [:])
    }

    /// With eager assignment the driver reassigns every partition: each is counted, and one that delivers
    /// afterwards (a record or its end) is cleared by it; a reassignment decided but never made counts nothing.
    @Test func eagerReassignmentCountsEveryPartitionUntilItDelivers() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0, 1, 2], committed: [0: 10, 1: 20, 2: 30], now: clock.now)
        #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(0, 10), at(1, 20), at(2, 30)])])
        #expect(engine.seekFoundNoFetcher([2]) == [.assignAgain([2], .seekFoundNoFetcher)])
        #expect(engine.reassignsInVain == [:])
        engine.assigningAgain([0, 1, 2])
        _ = engine.revoked([0, 1, 2], incremental: false, now: clock.now)
        #expect(engine.reassignsInVain == [0: 1, 1: 1, 2: 1])
        engine.activate([0, 1, 2], committed: [0: 10, 1: 20, 2: 30], now: clock.now)
        #expect(engine.reassigning.isEmpty)
        engine.handle(partition: 0, offset: 10, outputs: 0, now: clock.now)
        engine.reachedEnd(partition: 1, offset: 20, now: clock.now)
        #expect(engine.reassignsInVain == [2: 1])
        // Partition 2 stays without a fetcher: its next seek error waits for 6 restarts.
        #expect(watch(&engine, &clock, ms: window).first == .restartFetch([at(0, 11), at(2, 30)]))
        #expect(engine.seekFoundNoFetcher([2]) == [])
    }

    private static func isRestart(ofPartition id: Int32) -> (EngineAction) -> Bool {
        { action in
            guard case .restartFetch(let offsets) = action else { return false }
            return offsets.map(\.partition) == [id]
        }
    }

    /// A restart's seek that finds no fetcher is proof: assigned again at once — unless its last reassignment
    /// brought nothing, when it waits for the back-off's restarts like a silent one.
    @Test func seekWithoutFetcherIsRepairedAtOnceUnlessAReassignmentAlreadyFailed() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([1], committed: [1: 20], now: clock.now)
        #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(1, 20)])])
        // Unknown partitions are ignored, one named twice is assigned again once.
        #expect(engine.seekFoundNoFetcher([1, 1, 7]) == [.assignAgain([1], .seekFoundNoFetcher)])
        engine.assigningAgain([1])
        _ = engine.revoked([1], incremental: false, now: clock.now)
        engine.activate([1], committed: [1: 20], now: clock.now)
        // Still no fetcher after the reassignment: 6 restarts before the next.
        for restart in 1...6 {
            #expect(watch(&engine, &clock, ms: window) == [.restartFetch([at(1, 20)])])
            let repair = engine.seekFoundNoFetcher([1])
            #expect(repair == (restart == 6 ? [.assignAgain([1], .seekFoundNoFetcher)] : []), "restart \(restart)")
        }
        engine.assigningAgain([1])
        _ = engine.revoked([1], incremental: false, now: clock.now)
        engine.activate([1], committed: [1: 20], now: clock.now)
        #expect(engine.reassignsInVain == [1: 2])
        // Its end reached: delivered, so the next seek without a fetcher is repaired at once again.
        engine.reachedEnd(partition: 1, offset: 20, now: clock.now)
        #expect(engine.seekFoundNoFetcher([1]) == [.assignAgain([1], .seekFoundNoFetcher)])
        engine.stop(now: clock.now)
        #expect(engine.seekFoundNoFetcher([1]) == [])
    }

    /// Back-pressure pauses fetching: silence is expected, and measured again from the resume.
    @Test func pausedPartitionIsNotRestartedAndItsSilenceCountsFromTheResume() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(maxInflight: 1, fetchStallMs: window)
        engine.activate([0], committed: [0: nil], now: clock.now)
        let slots = engine.handle(partition: 0, offset: 0, now: clock.now).slots
        #expect(engine.tick(now: clock.now, idle: false).contains(.pause([0])))
        #expect(watch(&engine, &clock, ms: 2 * window) == [])
        engine.deliver(slots, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).contains(.resume([0])))
        #expect(watch(&engine, &clock, ms: window - 1) == [])
        #expect(watch(&engine, &clock, ms: 1) == [.restartFetch([at(0, 1)])])
    }

    /// Every broker down: silence is expected, and measured again from the reconnection.
    @Test func silenceWhileBrokersAreDownDoesNotCount() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(watch(&engine, &clock, ms: 3 * window, brokersReachable: false) == [])
        #expect(watch(&engine, &clock, ms: window - 1) == [])
        #expect(watch(&engine, &clock, ms: 1) == [.restartFetch([at(0, -2)])])
    }

    @Test func partitionsBeingPreparedAreNotWatched() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        _ = engine.assigned([0], incremental: false, now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        _ = engine.committedOffsets([0: 500], now: clock.now)
        #expect(engine.partitions[0]?.phase == .rebuilding)
        #expect(watch(&engine, &clock, ms: 3 * window) == [])
    }

    @Test func stoppingEngineAndDisabledWatchRestartNothing() {
        var clock = FakeClock()
        var off = makeAtLeastOnce(fetchStallMs: 0)
        off.activate([0], committed: [0: nil], now: clock.now)
        var draining = makeAtLeastOnce(fetchStallMs: window)
        draining.activate([0], committed: [0: nil], now: clock.now)
        draining.stop(now: clock.now)
        #expect(watch(&off, &clock, ms: 3 * window) == [])
        #expect(draining.checkFetching(now: clock.now, brokersReachable: true) == [])
    }

    /// `auto.offset.reset=error` and nothing committed or handled: there is no offset to restart from.
    @Test func partitionWithNoPositionAndNoResetOffsetIsNotRestarted() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window, offsetWhenNothingCommitted: nil)
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(watch(&engine, &clock, ms: window) == [])
    }

    @Test func recordsNotHandledStillCountAsDelivered() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0], committed: [0: nil], now: clock.now)
        engine.handle(partition: 0, offset: 5, outputs: 0, now: clock.now)
        #expect(watch(&engine, &clock, ms: window - 1) == [])
        // Fetched again after a pause (admitted already): not handled, but librdkafka is delivering.
        #expect(engine.fetched(partition: 0, offset: 3, timestamp: nil, now: clock.now) == .discard)
        #expect(watch(&engine, &clock, ms: window - 1) == [])
        #expect(watch(&engine, &clock, ms: 1) == [.restartFetch([at(0, 6)])])
    }

    /// The loop was away (a handler that hung for longer than the window): nothing was heard because nothing was
    /// listening. Every partition's silence is measured again from the loop's return.
    @Test func silenceWhileTheLoopWasAwayDoesNotCount() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(engine.checkFetching(now: clock.now, brokersReachable: true) == [])
        // No look for three windows: the loop was busy elsewhere (or hung).
        clock.advance(ms: 3 * window)
        #expect(engine.checkFetching(now: clock.now, brokersReachable: true) == [])
        // Checked every second from here: restarted one window after the loop came back.
        for _ in 0..<Int(window / 1_000 - 1) {
            #expect(watch(&engine, &clock, ms: 1_000) == [])
        }
        #expect(watch(&engine, &clock, ms: 1_000) == [.restartFetch([at(0, -2)])])
    }

    /// The driver asks on every loop pass; the watch looks at most once a second.
    @Test func watchLooksAtMostOncePerInterval() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(fetchStallMs: window)
        engine.activate([0], committed: [0: nil], now: clock.now)
        #expect(engine.checkFetching(now: clock.now, brokersReachable: true) == [])
        clock.advance(ms: 500)
        #expect(engine.checkFetching(now: clock.now, brokersReachable: true) == [])
        #expect(engine.lastFetchCheckNanos == clock.now - 500 * millis, "a look half a second after the last")
        clock.advance(ms: 500)
        #expect(engine.checkFetching(now: clock.now, brokersReachable: true) == [])
        #expect(engine.lastFetchCheckNanos == clock.now)
    }
}

/// A partition whose committed offset could not be read is never restarted at a guess.
@Suite struct FetchWatchUnknownStartTests {
    /// Its look-up failed and it handled nothing: librdkafka fetches from the committed offset this engine could
    /// not read, so `auto.offset.reset`'s position (the restart for "nothing committed") could replay or skip
    /// the log. Silent for a window, it is paused and looked up again; a later silence restarts it there.
    @Test func silentPartitionWithAnUnknownStartIsLookedUpAgainNotRestartedAtTheResetOffset() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce(rebuild: false, fetchStallMs: 30_000)
        _ = engine.assigned([0], incremental: false, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0])])
        #expect(engine.committedOffsets([0: nil], failed: [0], now: clock.now) == [.resetState([0])])
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([0])])
        var asked: [EngineAction] = []
        for _ in 0..<30 {
            clock.advance(ms: 1_000)
            asked += engine.checkFetching(now: clock.now, brokersReachable: true)
        }
        #expect(asked.isEmpty)
        #expect(engine.partitions[0]?.phase == .awaitingCommitted(rewind: false))
        #expect(engine.tick(now: clock.now, idle: true) == [.lookUpCommitted([0]), .pause([0])])
        #expect(engine.committedOffsets([0: 70], now: clock.now) == [.resetState([0])])
        #expect(engine.tick(now: clock.now, idle: true) == [.resume([0])])
        for _ in 0..<30 {
            clock.advance(ms: 1_000)
            asked += engine.checkFetching(now: clock.now, brokersReachable: true)
        }
        #expect(asked == [.restartFetch([at(0, 70)])])
    }
}

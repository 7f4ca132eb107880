@testable import StreamConsumer
import Testing

/// Which partitions' log ends are looked up for `lag_records`: those librdkafka is not fetching (paused), those it
/// has said nothing of for a while (silent), and, while every broker is down, every active one.
@Suite struct EngineLogEndsTests {
    private let silent: UInt64 = 5_000 * millis

    private func wanted(_ engine: AtLeastOnceEngine, _ clock: FakeClock, brokersReachable: Bool = true) -> [Int32] {
        engine.logEndsWanted(now: clock.now, silentNanos: silent, brokersReachable: brokersReachable)
    }

    @Test func deliveringPartitionsAreNotLookedUpAndSilentOnesAreAfterTheWindow() {
        var clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        #expect(wanted(engine, clock) == [])
        clock.advance(ms: 4_999)
        engine.handle(partition: 0, offset: 0, outputs: 0, now: clock.now)
        #expect(wanted(engine, clock) == [])
        clock.advance(ms: 1)
        // Partition 1 has said nothing since it was resumed 5 s ago; partition 0 delivered a record 1 ms ago.
        #expect(wanted(engine, clock) == [1])
        // An end-of-partition is news too: its cached watermark was just refreshed.
        engine.reachedEnd(partition: 1, offset: 3, now: clock.now)
        #expect(wanted(engine, clock) == [])
        clock.advance(ms: 5_000)
        #expect(wanted(engine, clock) == [0, 1])
    }

    /// Paused by back-pressure: not fetched, so its cached watermark stops — looked up at once, however recently
    /// it delivered.
    @Test func pausedPartitionIsLookedUpWhileItStaysPaused() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce(maxInflight: 1)
        engine.activate([0, 1], committed: [0: nil, 1: nil], now: clock.now)
        let slots = engine.handle(partition: 0, offset: 0, now: clock.now).slots
        #expect(engine.tick(now: clock.now, idle: false).contains(.pause([0, 1])))
        #expect(wanted(engine, clock) == [0, 1])
        engine.deliver(slots, now: clock.now)
        #expect(engine.tick(now: clock.now, idle: true).contains(.resume([0, 1])))
        #expect(wanted(engine, clock) == [])
    }

    /// With every broker down, the fetch watch keeps silence from counting; every active partition is asked for,
    /// and the first answer tells the driver the brokers are back even when no record comes to say so.
    @Test func everyActivePartitionIsLookedUpWhileBrokersAreDown() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce()
        engine.activate([2, 0], committed: [0: nil, 2: nil], now: clock.now)
        #expect(wanted(engine, clock) == [])
        #expect(wanted(engine, clock, brokersReachable: false) == [0, 2])
    }

    @Test func partitionsBeingPreparedAndStoppedEnginesAreNotLookedUp() {
        var clock = FakeClock()
        var preparing = makeAtLeastOnce()
        _ = preparing.assigned([0], incremental: false, now: clock.now)
        _ = preparing.tick(now: clock.now, idle: true)
        _ = preparing.committedOffsets([0: 500], now: clock.now)
        #expect(preparing.partitions[0]?.phase == .rebuilding)
        var stopping = makeAtLeastOnce()
        stopping.activate([0], committed: [0: nil], now: clock.now)
        stopping.stop(now: clock.now)
        clock.advance(ms: 60_000)
        #expect(wanted(preparing, clock, brokersReachable: false) == [])
        #expect(wanted(stopping, clock, brokersReachable: false) == [])
    }

    /// The log starts asked for with the ends: only partitions with nothing handled and nothing committed (their
    /// lag counts from the log start; the driver asks for them on every look-up while that lasts, as retention
    /// moves the start), and not those whose committed-offset look-up failed (where they are read from is unknown).
    @Test func logStartsAreAskedForPartitionsWithoutAPositionOnEveryLookUp() {
        let clock = FakeClock()
        var engine = makeAtLeastOnce(rebuild: false)
        _ = engine.assigned([0, 1, 2, 3], incremental: false, now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        _ = engine.committedOffsets([0: nil, 1: nil, 2: 40, 3: nil], failed: [3], now: clock.now)
        _ = engine.tick(now: clock.now, idle: true)
        let all = wanted(engine, clock, brokersReachable: false)
        #expect(all == [0, 1, 2, 3])
        #expect(engine.logStartsWanted(among: all) == [0, 1])
        // Only the partitions the ends are wanted for.
        #expect(engine.logStartsWanted(among: [1, 2]) == [1])
        // A handled record gives partition 0 a position: its lag counts from there.
        engine.handle(partition: 0, offset: 7, outputs: 0, now: clock.now)
        #expect(engine.logStartsWanted(among: all) == [1])
    }
}

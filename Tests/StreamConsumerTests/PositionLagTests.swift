@testable import StreamConsumer
import Testing

/// The record lag the metrics scrape reads for each assigned partition (``PositionBoard/lag(_:low:high:startsAtLogStart:)``).
@Suite struct PositionLagTests {
    typealias Entry = PositionBoard.Entry

    @Test func lagCountsFromTheStoredOffsetThenTheNextToHandle() {
        #expect(PositionBoard.lag(Entry(position: 90, committable: 80), low: 0, high: 100, startsAtLogStart: true) == 20)
        #expect(PositionBoard.lag(Entry(position: 90, committable: nil), low: 0, high: 100, startsAtLogStart: true) == 10)
        #expect(PositionBoard.lag(Entry(position: 120, committable: nil), low: 0, high: 100, startsAtLogStart: true) == 0)
    }

    /// Nothing handled and nothing committed: under earliest every record from the log start waits — the
    /// partition that never delivered in a benchmark run had no series at all before.
    @Test func partitionWithNoPositionCountsFromTheLogStartUnderEarliest() {
        let nothing = Entry(position: nil, committable: nil)
        #expect(PositionBoard.lag(nothing, low: 40, high: 4_557, startsAtLogStart: true) == 4_517)
        #expect(PositionBoard.lag(nothing, low: 40, high: 4_557, startsAtLogStart: false) == nil)
        #expect(PositionBoard.lag(nothing, low: -1, high: 4_557, startsAtLogStart: true) == nil)
    }

    /// While the committed offset is looked up, a missing position means "not known yet": no guess.
    @Test func noLagWhileTheCommittedOffsetIsLookedUpOrWithoutAWatermark() {
        let looking = Entry(position: nil, committable: nil, awaitingCommitted: true)
        #expect(PositionBoard.lag(looking, low: 0, high: 100, startsAtLogStart: true) == nil)
        #expect(PositionBoard.lag(Entry(position: 5, committable: 5), low: 0, high: -1, startsAtLogStart: true) == nil)
    }
}

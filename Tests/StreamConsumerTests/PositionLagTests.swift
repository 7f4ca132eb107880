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

/// Watermarks from the state rebuild's reader stand in for the consumer's own while it has fetched nothing from a
/// partition it keeps paused for its rebuild (every partition of a restarted instance had no lag series, or only
/// some had one, until the rebuild ended).
@Suite struct KnownWatermarkTests {
    typealias Watermarks = PositionBoard.Watermarks

    @Test func theReadersWatermarksStandInUntilTheConsumerHasNewerOnes() {
        let none = Watermarks(low: -1, high: -1)
        let reader = Watermarks(low: 0, high: 2_925)
        #expect(PositionBoard.watermarks(consumer: none, known: reader) == reader)
        #expect(PositionBoard.watermarks(consumer: none, known: nil) == none)
        // The consumer fetched since and knows more: its own win.
        let fetched = Watermarks(low: 0, high: 3_100)
        #expect(PositionBoard.watermarks(consumer: fetched, known: reader) == fetched)
        // It knows its log start but an older end: the newer end, its own start.
        #expect(PositionBoard.watermarks(consumer: Watermarks(low: 12, high: 2_000), known: reader) == Watermarks(low: 12, high: 2_925))
    }

    /// librdkafka keeps the log start its last fetch saw; a look-up read after retention moved it is newer, even
    /// with the same end. A partition with nothing handled or committed counts its lag from there: the 1,500
    /// deleted records are not lag.
    @Test func aLogStartMovedByRetentionWinsOverTheConsumersCachedOne() {
        let cached = Watermarks(low: 0, high: 3_100)
        let lookedUp = Watermarks(low: 1_500, high: 3_100)
        let watermarks = PositionBoard.watermarks(consumer: cached, known: lookedUp)
        #expect(watermarks == Watermarks(low: 1_500, high: 3_100))
        let neverDelivered = PositionBoard.Entry(position: nil, committable: nil)
        #expect(PositionBoard.lag(neverDelivered, low: watermarks.low, high: watermarks.high, startsAtLogStart: true) == 1_600)
        // An older look-up never moves either back.
        #expect(PositionBoard.watermarks(consumer: Watermarks(low: 1_500, high: 3_100), known: Watermarks(low: 0, high: 2_000))
            == Watermarks(low: 1_500, high: 3_100))
    }

    /// A restarted instance rebuilding a partition committed at 1,200 whose log ends at 2,925: 1,725 records
    /// wait, where before it reported no lag at all.
    @Test func aPartitionBeingRebuiltShowsWhatWaitsBehindItsCommittedOffset() {
        let rebuilding = PositionBoard.Entry(position: 1_200, committable: nil)
        let watermarks = PositionBoard.watermarks(consumer: Watermarks(low: -1, high: -1), known: Watermarks(low: 0, high: 2_925))
        #expect(PositionBoard.lag(rebuilding, low: watermarks.low, high: watermarks.high, startsAtLogStart: false) == 1_725)
    }
}

//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Synchronization
import Testing

@testable import ConsumerMetrics

/// A lag source the test sets by hand; counts how often the scrape asks it.
final class FakeLagSource: LagSource {
    private let state: Mutex<(snapshot: LagSnapshot, calls: Int)>

    init(_ snapshot: LagSnapshot) {
        self.state = Mutex((snapshot, 0))
    }

    func set(_ snapshot: LagSnapshot) { self.state.withLock { $0.snapshot = snapshot } }

    var calls: Int { self.state.withLock { $0.calls } }

    func lagSnapshot() -> LagSnapshot {
        self.state.withLock { state in
            state.calls += 1
            return state.snapshot
        }
    }
}

private func lagRecordsKey(_ topic: String, _ partition: Int) -> String {
    #"volatility_consumer_lag_records{topic="\#(topic)",partition="\#(partition)"}"#
}

/// `lag_records` / `lag_seconds` computed at every scrape from an installed ``LagSource``.
@Suite struct LagSourceTests {
    static let start = 1_700_000_000.0

    @Test func lagSecondsGrowsBetweenScrapesWhileTheSourceIsFrozen() {
        let clock = ManualClock(Self.start)
        let metrics = makeMetrics(clock: clock)
        let source = FakeLagSource(LagSnapshot(
            partitions: [.init(topic: "ticks.features", partition: 0, lagRecords: 120)],
            oldestWaitingTimestamp: Self.start - 5
        ))
        metrics.setLagSource(source)

        let first = Exposition(metrics.renderString()).samples
        #expect(first["volatility_consumer_lag_seconds"] == 5)
        #expect(first[lagRecordsKey("ticks.features", 0)] == 120)

        // A stalled consumer: nothing changes in the source, only time passes.
        clock.advance(by: 40)
        let second = Exposition(metrics.renderString()).samples
        #expect(second["volatility_consumer_lag_seconds"] == 45)
        #expect(second[lagRecordsKey("ticks.features", 0)] == 120)
        #expect(source.calls == 2, "the source is asked once per render")
    }

    @Test func partitionsNoLongerReportedLoseTheirSeries() {
        let metrics = makeMetrics()
        let source = FakeLagSource(LagSnapshot(
            partitions: [
                .init(topic: "ticks.features", partition: 0, lagRecords: 7),
                .init(topic: "ticks.features", partition: 1, lagRecords: 0),
                .init(topic: "ticks.features", partition: 2, lagRecords: 9),
            ],
            oldestWaitingTimestamp: nil
        ))
        metrics.setLagSource(source)
        let before = Exposition(metrics.renderString()).samples
        #expect(before[lagRecordsKey("ticks.features", 0)] == 7)
        #expect(before[lagRecordsKey("ticks.features", 1)] == 0)
        #expect(before[lagRecordsKey("ticks.features", 2)] == 9)

        // Partitions 0 and 2 revoked; partition 1 still assigned with a new lag.
        source.set(LagSnapshot(partitions: [.init(topic: "ticks.features", partition: 1, lagRecords: 3)], oldestWaitingTimestamp: nil))
        let after = Exposition(metrics.renderString()).samples
        #expect(after[lagRecordsKey("ticks.features", 0)] == nil)
        #expect(after[lagRecordsKey("ticks.features", 1)] == 3)
        #expect(after[lagRecordsKey("ticks.features", 2)] == nil)

        source.set(LagSnapshot(partitions: [], oldestWaitingTimestamp: nil))
        #expect(!metrics.renderString().contains("volatility_consumer_lag_records{"))
    }

    @Test func nothingWaitingMeansZeroLagSeconds() {
        let clock = ManualClock(Self.start)
        let metrics = makeMetrics(clock: clock)
        let source = FakeLagSource(LagSnapshot(partitions: [], oldestWaitingTimestamp: Self.start - 30))
        metrics.setLagSource(source)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 30)
        source.set(LagSnapshot(partitions: [], oldestWaitingTimestamp: nil))
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 0)
    }

    @Test func aTimestampAheadOfTheClockOrNotFiniteIsZero() {
        let clock = ManualClock(Self.start)
        let metrics = makeMetrics(clock: clock)
        let source = FakeLagSource(LagSnapshot(partitions: [], oldestWaitingTimestamp: Self.start + 3))
        metrics.setLagSource(source)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 0)
        source.set(LagSnapshot(partitions: [], oldestWaitingTimestamp: Self.start - 8))
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 8)
        source.set(LagSnapshot(partitions: [], oldestWaitingTimestamp: .nan))
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 0)
    }

    @Test func unknownPartitionLagExportsNoSeries() {
        let metrics = makeMetrics()
        metrics.setLagSource(FakeLagSource(LagSnapshot(
            partitions: [
                .init(topic: "ticks.features", partition: 0, lagRecords: -1),
                .init(topic: "ticks.features", partition: 1, lagRecords: 4),
            ],
            oldestWaitingTimestamp: nil
        )))
        let samples = Exposition(metrics.renderString()).samples
        #expect(samples[lagRecordsKey("ticks.features", 0)] == nil)
        #expect(samples[lagRecordsKey("ticks.features", 1)] == 4)
    }

    /// While a source is installed, librdkafka statistics and per-record lag must not write the families:
    /// their values would be older than the scrape's. Observed by removing the source afterwards: what is
    /// left is the last scrape's values, not the later event-driven ones.
    @Test func eventDrivenWritersStandDownWhileASourceIsInstalled() {
        let clock = ManualClock(Self.start)
        let metrics = makeMetrics(clock: clock)
        metrics.setLagSource(FakeLagSource(LagSnapshot(
            partitions: [.init(topic: "ticks.raw", partition: 0, lagRecords: 5)],
            oldestWaitingTimestamp: Self.start - 2
        )))
        _ = metrics.render()

        #expect(metrics.applyConsumerStatistics(json: consumerStatisticsFixture))  // ticks.raw/0 = 42, /1 = 0
        metrics.recordLag(recordTimestamp: Self.start - 100, eventTime: nil, now: Self.start)
        metrics.markCaughtUp()
        metrics.setLagSource(nil)
        let samples = Exposition(metrics.renderString()).samples
        #expect(samples[lagRecordsKey("ticks.raw", 0)] == 5)
        #expect(samples[lagRecordsKey("ticks.raw", 1)] == nil)
        #expect(samples["volatility_consumer_lag_seconds"] == 2)

        // Without a source the event-driven writers work again.
        #expect(metrics.applyConsumerStatistics(json: consumerStatisticsFixture))
        metrics.recordLag(recordTimestamp: Self.start - 100, eventTime: nil, now: Self.start)
        let restored = Exposition(metrics.renderString()).samples
        #expect(restored[lagRecordsKey("ticks.raw", 0)] == 42)
        #expect(restored[lagRecordsKey("ticks.raw", 1)] == 0)
        #expect(restored["volatility_consumer_lag_seconds"] == 100)
    }

    @Test func withoutASourceTheScrapeLeavesLagAlone() {
        let clock = ManualClock(Self.start)
        let metrics = makeMetrics(clock: clock)
        metrics.recordLag(recordTimestamp: Self.start - 4, eventTime: nil, now: Self.start)
        clock.advance(by: 60)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 4)
    }
}

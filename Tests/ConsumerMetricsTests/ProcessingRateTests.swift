//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Testing

@testable import ConsumerMetrics

/// `volatility_consumer_processing_rate` = records in the last 10 s / 10.
@Suite struct ProcessingRateTests {
    let t0 = 1_700_000_000.0

    @Test func fiftyRecordsInTheFirstSecondGiveFivePerSecond() {
        let clock = ManualClock(t0)
        let metrics = makeMetrics(clock: clock)
        for i in 0..<50 {
            metrics.recordProcessed(at: t0 + Double(i) * 0.02)  // t0 … t0+0.98
        }
        clock.set(t0 + 1)
        let exposition = Exposition(metrics.renderString())
        #expect(exposition.samples["volatility_consumer_processing_rate"] == 5)
        #expect(exposition.samples["volatility_consumer_messages_processed_total"] == 50)
    }

    @Test func rateIsASlidingWindowNotALifetimeAverage() {
        let window = SlidingWindowCounter(windowSeconds: 10, slotsPerSecond: 10)
        for i in 0..<50 { window.record(at: t0 + Double(i) * 0.02) }
        #expect(window.rate(at: t0 + 1) == 5)
        #expect(window.rate(at: t0 + 9.5) == 5)  // still inside the window
        #expect(window.rate(at: t0 + 11) == 0)  // 10 s idle → 0
        // New traffic counts only itself, not the earlier burst.
        for i in 0..<20 { window.record(at: t0 + 20 + Double(i) * 0.05) }
        #expect(window.count(at: t0 + 21) == 20)
        #expect(window.rate(at: t0 + 21) == 2)
    }

    @Test func rateDropsToZeroAfterTenSecondsIdleThroughTheMetric() {
        let clock = ManualClock(t0)
        let metrics = makeMetrics(clock: clock)
        for i in 0..<50 { metrics.recordProcessed(at: t0 + Double(i) * 0.02) }
        clock.set(t0 + 11)
        let exposition = Exposition(metrics.renderString())
        #expect(exposition.samples["volatility_consumer_processing_rate"] == 0)
        #expect(exposition.samples["volatility_consumer_messages_processed_total"] == 50)
    }

    @Test func ringPositionsAreReusedAcrossWindows() {
        let window = SlidingWindowCounter(windowSeconds: 10, slotsPerSecond: 10)
        // One event every 100 ms for 60 s: always exactly 100 events per window once full.
        for i in 0..<600 { window.record(at: t0 + Double(i) * 0.1 + 0.05) }
        #expect(window.count(at: t0 + 59.99) == 100)
        #expect(window.rate(at: t0 + 59.99) == 10)
    }

    @Test func eventsOlderThanTheWindowAndUnplaceableTimesAreIgnored() {
        let window = SlidingWindowCounter(windowSeconds: 10, slotsPerSecond: 10)
        window.record(at: t0 + 30)
        window.record(at: t0)  // same ring position, older slot: must not clobber the newer one
        window.record(at: .nan)
        window.record(at: -5)
        #expect(window.count(at: t0 + 30) == 1)
    }
}

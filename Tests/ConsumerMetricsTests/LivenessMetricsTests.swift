//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Testing

@testable import ConsumerMetrics

/// The stall signals: the loop's last turn, the last handled record, liveness fed only by the loop, and the
/// state-rebuild counters.
@Suite struct LivenessMetricsTests {
    static let wallStart = 1_700_000_000.0

    @Test func lastRecordTimestampIsZeroUntilTheFirstRecordThenItsWallTime() {
        let metrics = makeMetrics()
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_last_record_timestamp_seconds"] == 0)
        metrics.recordProcessed(at: Self.wallStart + 12.5)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_last_record_timestamp_seconds"] == Self.wallStart + 12.5)
        metrics.recordProcessed(at: Self.wallStart + 20)
        let samples = Exposition(metrics.renderString()).samples
        #expect(samples["volatility_consumer_last_record_timestamp_seconds"] == Self.wallStart + 20)
        #expect(samples["volatility_consumer_messages_processed_total"] == 2)
    }

    /// The scrape exports the wall-clock time of the last `markProgress()`; while the loop is stuck the value
    /// stays put (so `time() - value` grows) and `health_status` drops once the monotonic window passes.
    @Test func lastProgressTimestampFollowsMarkProgressOnTheWallClock() {
        let wall = ManualClock(Self.wallStart)
        let monotonic = ManualClock(500)
        let metrics = makeMetrics(clock: wall)
        let health = HealthState(livenessWindowSeconds: 30, clock: monotonic.closure, wallClock: wall.closure)
        let responder = MetricsResponder(metrics: metrics, health: health)
        func scrape() -> [String: Double] {
            Exposition(String(decoding: responder.respond(method: "GET", uri: "/metrics").body, as: UTF8.self)).samples
        }

        // Before the first turn: the creation time (the same start grace liveness gives).
        #expect(scrape()["volatility_consumer_last_progress_timestamp_seconds"] == Self.wallStart)

        wall.advance(by: 3)
        monotonic.advance(by: 3)
        health.markProgress()
        #expect(scrape()["volatility_consumer_last_progress_timestamp_seconds"] == Self.wallStart + 3)

        // Stuck: both clocks move on, the loop does not turn.
        wall.advance(by: 45)
        monotonic.advance(by: 45)
        let stuck = scrape()
        #expect(stuck["volatility_consumer_last_progress_timestamp_seconds"] == Self.wallStart + 3)
        #expect(stuck["volatility_consumer_health_status"] == 0)

        health.markProgress()
        let recovered = scrape()
        #expect(recovered["volatility_consumer_last_progress_timestamp_seconds"] == Self.wallStart + 48)
        #expect(recovered["volatility_consumer_health_status"] == 1)
    }

    /// A wall-clock step must not change the liveness decision: it is made on the monotonic clock.
    @Test func aWallClockStepNeitherFakesNorHidesAStall() {
        let wall = ManualClock(Self.wallStart)
        let monotonic = ManualClock(500)
        let health = HealthState(livenessWindowSeconds: 30, clock: monotonic.closure, wallClock: wall.closure)
        wall.advance(by: 3600)  // NTP step forward, no time passed
        #expect(health.liveness().ok)
        wall.advance(by: -7200)  // step back, and the loop really stalls
        monotonic.advance(by: 31)
        #expect(!health.liveness().ok)
    }

    /// Brokers down, nothing assigned, no model (readiness fails on all three): as long as the loop turns, the
    /// process is alive.
    @Test func onlyTheLoopFeedsLiveness() {
        let monotonic = ManualClock(0)
        let health = HealthState(livenessWindowSeconds: 30, clock: monotonic.closure, wallClock: { Self.wallStart })
        health.setBrokerReachable(false)
        health.setAssignedPartitions(0)
        health.setModelLoaded(false)
        for _ in 0..<10 {
            monotonic.advance(by: 20)
            health.markProgress()
            #expect(health.liveness().ok)
            #expect(!health.readiness().ok)
        }
        // The reverse: every readiness input fine, the loop stopped.
        health.setBrokerReachable(true)
        health.setAssignedPartitions(4)
        health.setModelLoaded(true)
        #expect(health.readiness().ok)
        monotonic.advance(by: 31)
        #expect(!health.liveness().ok)
        #expect(health.readiness().ok, "readiness is unchanged by a stall (kept as is)")
    }

    @Test func stateRebuildsAreCountedAndTimed() {
        let metrics = makeMetrics()
        let initial = Exposition(metrics.renderString())
        #expect(initial.samples["volatility_consumer_state_rebuild_records_total"] == 0)
        #expect(initial.samples["volatility_consumer_state_rebuild_seconds_count"] == 0)
        #expect(initial.type["volatility_consumer_state_rebuild_seconds"] == "histogram")

        metrics.recordStateRebuild(records: 1200, seconds: 0.25)
        metrics.recordStateRebuild(records: 800, seconds: 2)
        metrics.recordStateRebuild(records: -5, seconds: .nan)  // ignored
        let samples = Exposition(metrics.renderString()).samples
        #expect(samples["volatility_consumer_state_rebuild_records_total"] == 2000)
        #expect(samples["volatility_consumer_state_rebuild_seconds_count"] == 2)
        #expect(samples["volatility_consumer_state_rebuild_seconds_sum"] == 2.25)
        #expect(samples[#"volatility_consumer_state_rebuild_seconds_bucket{le="0.25"}"#] == 1)
        #expect(samples[#"volatility_consumer_state_rebuild_seconds_bucket{le="2.5"}"#] == 2)
    }
}

import Testing

/// The drain check the rolling-restart test relies on, without a daemon: a slow catch-up passes, a stall fails.
@Suite struct DrainWatchTests {
    typealias Sample = DrainWatch.Sample

    static func busy(_ processed: Double, inflight: Double = 100) -> Sample {
        Sample(ready: true, inflight: inflight, lagSeconds: 30, processed: processed, delivered: processed - inflight)
    }

    static func idle(_ processed: Double) -> Sample {
        Sample(ready: true, inflight: 0, lagSeconds: 0, processed: processed, delivered: processed)
    }

    @Test func slowCatchUpLongerThanTheStallWindowDrains() {
        var watch = DrainWatch(stallSeconds: 120, limitSeconds: 1200)
        // 300 s of catching up, a step every 60 s: far longer than the stall window, never quiet for that long.
        for step in 0...5 {
            #expect(watch.observe(Self.busy(Double(step) * 1000), at: Double(step) * 60) == .waiting)
        }
        #expect(watch.observe(Self.idle(6000), at: 360) == .waiting)
        #expect(watch.observe(Self.idle(6000), at: 361) == .waiting)
        #expect(watch.observe(Self.idle(6000), at: 361.5) == .drained)
        #expect(watch.longestQuiet == 60)
    }

    @Test func nothingMovingForTheStallWindowIsAStall() {
        var watch = DrainWatch(stallSeconds: 120, limitSeconds: 1200)
        #expect(watch.observe(Self.busy(5000, inflight: 2745), at: 0) == .waiting)
        #expect(watch.observe(Self.busy(5000, inflight: 2745), at: 119) == .waiting)
        #expect(watch.observe(Self.busy(5000, inflight: 2745), at: 120) == .stalled)
    }

    @Test func outputsStuckWhileRecordsAreStillHandledIsProgressUntilTheyStop() {
        var watch = DrainWatch(stallSeconds: 120, limitSeconds: 1200)
        // Records handled, nothing acknowledged: the in-flight count grows, so it is moving...
        #expect(watch.observe(Self.busy(1000, inflight: 1000), at: 0) == .waiting)
        #expect(watch.observe(Self.busy(2000, inflight: 2000), at: 100) == .waiting)
        // ...until the input is consumed and the outputs still sit in the producer.
        #expect(watch.observe(Self.busy(2000, inflight: 2000), at: 220) == .stalled)
    }

    @Test func idleButLaggingOrNotReadyIsNotDrained() {
        var watch = DrainWatch(stallSeconds: 120, limitSeconds: 1200)
        let lagging = Sample(ready: true, inflight: 0, lagSeconds: 4, processed: 10, delivered: 10)
        #expect(watch.observe(lagging, at: 0) == .waiting)
        #expect(watch.observe(lagging, at: 10) == .waiting)
        let notReady = Sample(ready: false, inflight: 0, lagSeconds: 0, processed: 10, delivered: 10)
        #expect(watch.observe(notReady, at: 20) == .waiting)
        #expect(watch.observe(nil, at: 30) == .waiting)
        #expect(watch.observe(Self.idle(10), at: 40) == .waiting)
        #expect(watch.observe(Self.idle(10), at: 42) == .drained)
    }

    @Test func aCatchUpThatNeverEndsReachesTheLimit() {
        var watch = DrainWatch(stallSeconds: 120, limitSeconds: 600)
        var verdict = DrainWatch.Verdict.waiting
        var now = 0.0
        while verdict == .waiting, now <= 700 {
            verdict = watch.observe(Self.busy(now), at: now)
            now += 30
        }
        #expect(verdict == .limitReached)
    }

    @Test func parsesTheDaemonsExposition() {
        let text = """
            volatility_consumer_ready 1.0
            volatility_consumer_inflight_records 2859.0
            volatility_consumer_lag_seconds 41.5
            volatility_consumer_messages_processed_total 143943
            volatility_consumer_predictions_made_total 140928
            """
        #expect(Sample(exposition: text) == Sample(ready: true, inflight: 2859, lagSeconds: 41.5, processed: 143943, delivered: 140928))
        #expect(Sample(exposition: "volatility_consumer_ready 1.0") == nil)
    }
}

import Crdkafka

/// Where the logs of paused partitions end, for `lag_records`.
///
/// librdkafka 2.0.2 updates a partition's cached high watermark (what the metrics scrape reads, without a broker
/// round trip) only from fetch responses, and a paused partition is not fetched. While back-pressure keeps
/// fetching paused, records that keep arriving would not show in `lag_records` — measured: 100 → 80 while 300
/// records arrived (`PausedLagTests`). So while any active partition is paused, the loop looks its end up from
/// the brokers every ``pausedEndsIntervalNanos`` (one ListOffsets request per leader, bounded like the fetch
/// watch's look-up) and lends it to the scrape as a known watermark.
extension EngineDriver {
    /// How often the ends of paused partitions are looked up: a few times per scrape interval (15 s).
    static var pausedEndsIntervalNanos: UInt64 { 5_000_000_000 }

    func refreshPausedEnds(now: UInt64) {
        guard now &- lastPausedEndsNanos >= Self.pausedEndsIntervalNanos else { return }
        lastPausedEndsNanos = now
        // With every broker down the look-up would only wait out its timeout.
        guard brokerReachable != false, engine.lifecycle == .running else { return }
        var paused: [Int32] = []
        for (id, state) in engine.partitions where state.fetchPaused && state.phase == .active { paused.append(id) }
        guard !paused.isEmpty else { return }
        paused.sort()
        for (id, end) in lookUpEnds(paused) { learnWatermarks(of: id, low: nil, high: end) }
    }
}

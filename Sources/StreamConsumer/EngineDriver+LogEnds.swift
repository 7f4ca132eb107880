import Crdkafka

/// Where the logs of partitions that are not being fetched end, for `lag_records`.
///
/// librdkafka 2.0.2 updates a partition's cached high watermark (what the metrics scrape reads, without a broker
/// round trip) only from fetch responses. A partition that is not fetched keeps the watermark it had:
/// - paused by back-pressure — measured: `lag_records` 100 → 80 while 300 records arrived (`PausedLagTests`);
/// - silent while it should be fetching (what the fetch watch restarts, but only after `FETCH_STALL_SECONDS`) —
///   measured: 0 for a minute with 200 records waiting (`FetchWatchTests`); a "drained" check then passed with
///   two partitions' records never handled (CI, 2026-12-01).
/// So every ``logEndsIntervalNanos`` the loop looks up the ends of the active partitions that are paused or have
/// delivered nothing (no record, no end-of-partition) for as long (one ListOffsets request per leader, bounded like
/// the fetch watch's look-up) and lends them to the scrape as known watermarks. A partition that keeps
/// delivering has a fresh cached watermark and is not looked up; an idle one costs a look-up per interval.
extension EngineDriver {
    /// How often the ends are looked up, and how long a partition must have been silent to be looked up: a few
    /// times per scrape interval (15 s).
    static var logEndsIntervalNanos: UInt64 { 5_000_000_000 }

    func refreshLogEnds(now: UInt64) {
        guard now &- lastLogEndsNanos >= Self.logEndsIntervalNanos else { return }
        lastLogEndsNanos = now
        // With every broker down the look-up would only wait out its timeout.
        guard brokerReachable != false, engine.lifecycle == .running else { return }
        let silentSince = now &- Self.logEndsIntervalNanos
        var stale: [Int32] = []
        for (id, state) in engine.partitions where state.phase == .active {
            if state.fetchPaused || state.heardNanos <= silentSince { stale.append(id) }
        }
        guard !stale.isEmpty else { return }
        stale.sort()
        for (id, end) in lookUpEnds(stale) { learnWatermarks(of: id, low: nil, high: end) }
    }
}

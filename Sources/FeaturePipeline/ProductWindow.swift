#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The rolling window of one product: entries `(ts, mid, spread)` plus the returns between consecutive
/// entries, each kept in a ``SlidingAggregator`` so every statistic is O(1) amortised per tick.
///
/// Invariant: `returns.count == max(0, entries.count - 1)`; the return queue holds `ln(mid[k]) −
/// ln(mid[k−1])` for consecutive entries currently in the window, oldest first.
struct ProductWindow: Sendable {
    private var entries = SlidingAggregator<EntryAggregate>()
    private var returns = SlidingAggregator<MeanVarianceAggregate>()
    private var lastLogMid: Double = 0

    init() {}

    var count: Int { self.entries.count }

    /// Appends a tick, evicts entries with `ts < eventTime − windowSeconds` from the front, and returns the
    /// features once at least two entries remain.
    mutating func update(eventTime: Double, mid: Double, spread: Double, windowSeconds: Double) -> FeatureVector? {
        let logMid = log(mid)
        if !self.entries.isEmpty {
            self.returns.append(logMid - self.lastLogMid)
        }
        self.entries.append(WindowEntry(timestamp: eventTime, spread: spread))
        self.lastLogMid = logMid

        let cutoff = eventTime - windowSeconds
        while let oldest = self.entries.oldest, oldest.timestamp < cutoff {
            self.entries.removeOldest()
            self.returns.removeOldest()  // the return from the evicted entry to its successor
        }

        let size = self.entries.count
        guard size >= 2 else { return nil }
        let entryStats = self.entries.aggregate
        let returnStats = self.returns.aggregate
        let duration = entryStats.maxTimestamp - entryStats.minTimestamp
        let spreadMean = entryStats.spread.mean
        return FeatureVector(
            midpriceReturnMean: returnStats.mean,
            midpriceReturnStd: returnStats.populationVariance.squareRoot(),
            bidAskSpread: spreadMean,
            tradeIntensity: duration > 0 ? Double(size) / duration : .infinity,
            orderBookImbalance: spreadMean / mid,
            windowSize: size,
            windowDuration: duration
        )
    }
}

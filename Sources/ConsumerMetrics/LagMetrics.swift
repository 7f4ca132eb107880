//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Prometheus
import Synchronization

/// `volatility_consumer_lag_records{topic,partition}` and `volatility_consumer_lag_seconds`: who writes them
/// and when.
///
/// With a ``LagSource`` installed, both are computed from the source at every scrape (``refresh(now:)``), so
/// a consumer that stopped handling records shows a growing lag instead of the value it last wrote; the
/// event-driven writers (librdkafka statistics, per-record lag, caught-up) then stand down, so a late event
/// cannot overwrite the fresher scrape-time value. Without a source (tools, tests, an engine that does not
/// provide one) the event-driven writers keep working as before.
final class LagMetrics: Sendable {
    private struct PartitionKey: Hashable, Sendable {
        var topic: String
        var partition: Int
    }

    private let registry: PrometheusCollectorRegistry
    private let lagSeconds: Gauge
    private let partitions: Mutex<[PartitionKey: Gauge]>
    private let source: Mutex<(any LagSource)?>
    /// Mirrors `source != nil` so the per-record path can check it with one relaxed load instead of a lock.
    private let sourceInstalled: Atomic<Bool>

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        self.lagSeconds = registry.makeGauge(descriptor: MetricCatalog.lagSeconds.descriptor)
        self.partitions = Mutex([:])
        self.source = Mutex(nil)
        self.sourceInstalled = Atomic(false)
    }

    /// Installs (or, with `nil`, removes) the scrape-time source.
    func setSource(_ source: (any LagSource)?) {
        self.source.withLock { current in
            current = source
            self.sourceInstalled.store(source != nil, ordering: .relaxed)
        }
    }

    /// Whether a scrape-time source is installed.
    var hasSource: Bool {
        self.sourceInstalled.load(ordering: .relaxed)
    }

    // MARK: Event-driven writers (no source installed)

    /// Per-record lag in seconds (already validated finite, not yet clamped). Hot path: one relaxed load and
    /// one relaxed store.
    func recordSeconds(_ lag: Double) {
        guard !self.hasSource else { return }
        self.lagSeconds.set(to: max(lag, 0))
    }

    /// Every assigned partition is at its high watermark: lag_seconds is 0.
    func markCaughtUp() {
        guard !self.hasSource else { return }
        self.lagSeconds.set(to: 0)
    }

    /// librdkafka's stored-offset lags (every `statistics.interval.ms`).
    func applyStatistics(_ lags: [LibrdkafkaStatistics.PartitionLag]) {
        guard !self.hasSource else { return }
        self.setPartitions(lags.map { (PartitionKey(topic: $0.topic, partition: $0.partition), $0.lag) })
    }

    // MARK: Scrape-time writer

    /// Asks the installed source (if any) for the consumer's position and sets both families from it:
    /// one `lag_records` series per reported partition with a known (non-negative) lag, and
    /// `lag_seconds = max(0, now − oldestWaitingTimestamp)`, or 0 when nothing waits (nil) or the
    /// timestamp is not a finite number.
    ///
    /// The source is called outside every lock of this type: it may take its own locks.
    func refresh(now: Double) {
        guard let source = self.source.withLock({ $0 }) else { return }
        let snapshot = source.lagSnapshot()
        self.setPartitions(
            snapshot.partitions.lazy
                .filter { $0.lagRecords >= 0 }
                .map { (PartitionKey(topic: $0.topic, partition: $0.partition), $0.lagRecords) }
        )
        var seconds = 0.0
        if let oldest = snapshot.oldestWaitingTimestamp {
            let lag = now - oldest
            seconds = lag.isFinite ? max(lag, 0) : 0
        }
        self.lagSeconds.set(to: seconds)
    }

    /// Sets one series per entry (the last entry wins for a repeated partition) and unregisters the series
    /// of partitions not listed, so a revoked partition does not keep exporting its last lag.
    private func setPartitions(_ entries: some Sequence<(PartitionKey, Int64)>) {
        let family = MetricCatalog.lagRecords
        self.partitions.withLock { current in
            var next: [PartitionKey: Gauge] = [:]
            for (key, lag) in entries {
                let gauge =
                    next[key] ?? current[key]
                    ?? self.registry.makeGauge(
                        descriptor: family.descriptor,
                        labels: [("topic", key.topic), ("partition", String(key.partition))]
                    )
                gauge.set(to: Double(lag))
                next[key] = gauge
            }
            for (key, gauge) in current where next[key] == nil {
                self.registry.unregisterGauge(gauge)
            }
            current = next
        }
    }
}

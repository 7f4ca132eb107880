//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Prometheus
import Synchronization

/// All of consumerd's metrics, registered directly on one ``registry`` with their help text.
///
/// The swift-metrics bridge (`PrometheusMetricsFactory`) is deliberately not used for these
/// metrics: it registers everything with empty help and traps on a help mismatch.
///
/// Thread-safe. The `record…` methods are called from the processing thread for every record
/// (up to ~200k records/s), so they are allocation-free: counters and gauges are relaxed atomics,
/// histograms take swift-prometheus' short per-histogram lock, and labelled series are looked up
/// in immutable dictionaries built at init. Every labelled family with a known value set is
/// populated at init, so each series is exported (at 0) before its first event.
///
/// Lag is computed at scrape time when the engine installs a ``LagSource`` (``setLagSource(_:)``),
/// so a stalled or paused consumer's lag keeps growing; see ``LagMetrics``.
public final class ConsumerMetrics: Sendable {
    /// The registry holding every consumerd metric. Other components may register their own
    /// metrics here (with help text) to have them served on `/metrics`.
    public let registry: PrometheusCollectorRegistry
    /// The model variant the daemon started with (`model_info`'s until ``setModelInfo(variant:version:path:)``).
    public let variant: String
    /// The `variant` label of predictions recorded without one.
    private let defaultVariant: ModelVariantLabel
    /// Reloads, fallback, model source and shadow scoring.
    public let model: ModelMetrics

    private let clock: @Sendable () -> Double

    private let messagesProcessed: Counter
    private let predictionsMade: Counter
    private let errors: [ErrorType: Counter]
    private let processingSeconds: ValueHistogram
    private let lag: LagMetrics
    private let processingRate: Gauge
    private let rateWindow: SlidingWindowCounter

    private let skipped: [SkipReason: Counter]
    private let deadLettered: [ErrorType: Counter]
    /// Per ``ModelVariantLabel`` case, in `allCases` order: an array, not a dictionary keyed by the label, as it
    /// is read once per delivered prediction (hashing the key cost more than the two counters).
    private let predictions: [(negative: Counter, positive: Counter)]
    private let probability: ValueHistogram
    /// Indexed by ``Stage/index`` (an array, not a dictionary: `produce_ack` is observed on every delivery, and
    /// a dictionary look-up hashes the key each time).
    private let stages: [ValueHistogram]
    private let endToEnd: ValueHistogram

    private let assignedPartitions: Gauge
    private let rebalances: [RebalanceKind: Counter]
    private let commitsOK: Counter
    private let commitsError: Counter
    private let ready: Gauge
    private let producerQueue: Gauge
    private let inflight: Gauge
    private let stateKeys: Gauge
    private let modelInfo: Mutex<Gauge>
    private let modelLoaded: Gauge
    private let healthStatus: Gauge
    private let lastProgress: Gauge
    private let lastRecord: Gauge
    private let stateRebuildRecords: Counter
    private let stateRebuildSeconds: ValueHistogram
    private let fetchRestarts: Counter
    private let buildInfo: Gauge

    private let process: ProcessMetrics
    /// Realised-label and drift metrics (see ``ModelQualityMetrics``).
    public let quality: ModelQualityMetrics

    /// The status page's throughput history, sampled by the endpoint (``sampleThroughput(now:)``).
    let throughput = Mutex(ThroughputHistory())
    /// Sections other components add to `/status` (``setStatusSection(_:provider:)``), in registration order.
    let statusSections = Mutex<[(name: String, provider: @Sendable () -> StatusValue)]>([])

    /// Registers every consumerd metric on a new registry.
    ///
    /// - Parameters:
    ///   - variant: The running model variant (label of `predictions_total` and `model_info`).
    ///   - modelVersion: The loaded model's version (label of `model_info`).
    ///   - modelPath: The loaded model's path (label of `model_info`).
    ///   - buildVersion: consumerd's version (label of `build_info`).
    ///   - buildRevision: The git revision consumerd was built from (label `revision` of `build_info`).
    ///   - librdkafkaVersion: The linked librdkafka's version (label `librdkafka` of `build_info`).
    ///   - registry: The registry to register on; a fresh one by default.
    ///   - clock: Wall-clock epoch seconds, used by ``render()`` to refresh time-derived gauges.
    public init(
        variant: String,
        modelVersion: String,
        modelPath: String,
        buildVersion: String,
        buildRevision: String = "unknown",
        librdkafkaVersion: String = "unknown",
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        clock: @escaping @Sendable () -> Double = MetricsClock.wallSeconds
    ) {
        typealias C = MetricCatalog
        self.registry = registry
        self.variant = variant
        self.clock = clock

        func counter(_ family: MetricCatalog.Family, _ labels: [(String, String)] = []) -> Counter {
            labels.isEmpty
                ? registry.makeCounter(descriptor: family.descriptor)
                : registry.makeCounter(descriptor: family.descriptor, labels: labels)
        }
        func gauge(_ family: MetricCatalog.Family, _ labels: [(String, String)] = []) -> Gauge {
            labels.isEmpty
                ? registry.makeGauge(descriptor: family.descriptor)
                : registry.makeGauge(descriptor: family.descriptor, labels: labels)
        }
        func histogram(_ family: MetricCatalog.Family, _ buckets: [Double], _ labels: [(String, String)] = [])
            -> ValueHistogram
        {
            labels.isEmpty
                ? registry.makeValueHistogram(descriptor: family.descriptor, buckets: buckets)
                : registry.makeValueHistogram(descriptor: family.descriptor, labels: labels, buckets: buckets)
        }

        self.messagesProcessed = counter(C.messagesProcessed)
        self.predictionsMade = counter(C.predictionsMade)
        self.errors = Dictionary(
            uniqueKeysWithValues: ErrorType.allCases.map { ($0, counter(C.errors, [("error_type", $0.rawValue)])) }
        )
        self.processingSeconds = histogram(C.processingSeconds, MetricBuckets.processingSeconds)
        self.lag = LagMetrics(registry: registry)
        self.processingRate = gauge(C.processingRate)
        self.rateWindow = SlidingWindowCounter(windowSeconds: 10, slotsPerSecond: 10)

        self.skipped = Dictionary(
            uniqueKeysWithValues: SkipReason.allCases.map { ($0, counter(C.recordsSkipped, [("reason", $0.rawValue)])) }
        )
        self.deadLettered = Dictionary(
            uniqueKeysWithValues: ErrorType.deadLetterTypes.map {
                ($0, counter(C.dlqRecords, [("error_type", $0.rawValue)]))
            }
        )
        self.predictions = ModelVariantLabel.allCases.map { label in
            (
                counter(C.predictions, [("variant", label.rawValue), ("prediction", "0")]),
                counter(C.predictions, [("variant", label.rawValue), ("prediction", "1")])
            )
        }
        self.defaultVariant = ModelVariantLabel(rawValue: variant) ?? .ml
        self.probability = histogram(C.predictionProbability, MetricBuckets.probability)
        self.stages = Stage.allCases.map {
            histogram(C.stageSeconds, MetricBuckets.stageSeconds, [("stage", $0.rawValue)])
        }
        self.endToEnd = histogram(C.endToEndSeconds, MetricBuckets.endToEndSeconds)

        self.assignedPartitions = gauge(C.assignedPartitions)
        self.rebalances = Dictionary(
            uniqueKeysWithValues: RebalanceKind.allCases.map { ($0, counter(C.rebalances, [("kind", $0.rawValue)])) }
        )
        self.commitsOK = counter(C.offsetCommits, [("result", "ok")])
        self.commitsError = counter(C.offsetCommits, [("result", "error")])
        self.ready = gauge(C.ready)
        self.producerQueue = gauge(C.producerQueueMessages)
        self.inflight = gauge(C.inflightRecords)
        self.stateKeys = gauge(C.stateKeys)
        let info = gauge(C.modelInfo, [("variant", variant), ("version", modelVersion), ("path", modelPath)])
        info.set(to: 1)
        self.modelInfo = Mutex(info)
        self.modelLoaded = gauge(C.modelLoaded)
        self.healthStatus = gauge(C.healthStatus)
        self.lastProgress = gauge(C.lastProgressTimestamp)
        self.lastRecord = gauge(C.lastRecordTimestamp)
        self.stateRebuildRecords = counter(C.stateRebuildRecords)
        self.stateRebuildSeconds = histogram(C.stateRebuildSeconds, MetricBuckets.stateRebuildSeconds)
        self.fetchRestarts = counter(C.fetchRestarts)
        self.buildInfo = gauge(C.buildInfo, [
            ("version", buildVersion), ("revision", buildRevision), ("librdkafka", librdkafkaVersion),
            ("swift", BuildEnvironment.swiftVersion),
        ])
        self.buildInfo.set(to: 1)

        self.process = ProcessMetrics(registry: registry)
        self.model = ModelMetrics(registry: registry)
        self.quality = ModelQualityMetrics(registry: registry)
    }

    // MARK: Per-record updates (hot path)

    /// Counts one handled input record (predicted, dead-lettered or skipped), feeds the
    /// 10 s processing-rate window and sets `volatility_consumer_last_record_timestamp_seconds`
    /// to `now` (one relaxed atomic store). `now` is wall-clock epoch seconds.
    public func recordProcessed(at now: Double) {
        self.messagesProcessed.increment()
        self.rateWindow.record(at: now)
        self.lastRecord.set(to: now)
    }

    /// Observes one record's poll-to-serialized time in `volatility_consumer_processing_seconds`.
    public func recordProcessingSeconds(_ s: Double) {
        guard let s = Self.nonNegative(s) else { return }
        self.processingSeconds.record(s)
    }

    /// Observes the time one record spent in `stage`.
    public func recordStage(_ stage: Stage, seconds: Double) {
        guard let s = Self.nonNegative(seconds) else { return }
        self.stages[stage.index].record(s)
    }

    /// Counts a skipped record. `reason` is `"no_price"` or `"warming_up"`; any other value is
    /// ignored so the label set stays bounded.
    public func recordSkip(_ reason: String) {
        guard let reason = SkipReason(rawValue: reason) else { return }
        self.recordSkip(reason)
    }

    /// Counts a skipped record.
    public func recordSkip(_ reason: SkipReason) {
        self.skipped[reason]?.increment()
    }

    /// Counts an error in `volatility_consumer_errors_total{error_type}`.
    public func recordError(_ type: ErrorType) {
        self.errors[type]?.increment()
    }

    /// Counts a dead letter whose delivery the broker confirmed. Only dead-letter error types
    /// (``ErrorType/deadLetterTypes``) are counted; others are ignored.
    public func recordDeadLetterDelivered(_ type: ErrorType) {
        self.deadLettered[type]?.increment()
    }

    /// Records a prediction whose delivery the broker confirmed.
    ///
    /// - Parameters:
    ///   - prediction: The predicted class, 0 or 1. Other values still count in
    ///     `predictions_made_total` but not in `predictions_total{prediction}`.
    ///   - probability: The predicted probability of class 1, observed in the probability histogram.
    ///   - endToEndSeconds: Input record Kafka timestamp → this delivery report, if known.
    ///   - variant: The model that scored it (`variant` label of `predictions_total`); the start-up variant when
    ///     `nil`.
    public func recordPredictionDelivered(
        prediction: Int, probability: Double, endToEndSeconds: Double?, variant: ModelVariantLabel? = nil
    ) {
        self.predictionsMade.increment()
        let counters = self.predictions[(variant ?? self.defaultVariant).index]
        switch prediction {
        case 0: counters.negative.increment()
        case 1: counters.positive.increment()
        default: break
        }
        if probability.isFinite {
            self.probability.record(probability)
        }
        if let e2e = endToEndSeconds, e2e.isFinite {
            self.endToEnd.record(max(e2e, 0))
        }
    }

    /// Sets `volatility_consumer_lag_seconds` to `now − (recordTimestamp ?? eventTime)` — only while no
    /// ``LagSource`` is installed; with one, the scrape computes the gauge and this does nothing.
    ///
    /// The Kafka record timestamp (CreateTime) wins whenever present; the payload's event time
    /// is only a fallback for records without one. All values are epoch seconds (convert Kafka's
    /// milliseconds before calling). Negative lag (producer clock ahead) is reported as 0; with
    /// neither timestamp the gauge is left unchanged.
    public func recordLag(recordTimestamp: Double?, eventTime: Double?, now: Double) {
        guard let reference = recordTimestamp ?? eventTime else { return }
        let lag = now - reference
        guard lag.isFinite else { return }
        self.lag.recordSeconds(lag)
    }

    /// Sets `volatility_consumer_lag_seconds` to 0: every assigned partition is at its high
    /// watermark and the consumer is idle. Does nothing while a ``LagSource`` is installed (the
    /// scrape computes the gauge).
    public func markCaughtUp() {
        self.lag.markCaughtUp()
    }

    /// Installs the source `/metrics` asks for the consumer's position at every render, or removes it
    /// with `nil`.
    ///
    /// While a source is installed, ``render()`` sets one `volatility_consumer_lag_records{topic,partition}`
    /// series per partition it reports (removing the others) and `volatility_consumer_lag_seconds` to
    /// `max(0, now − oldestWaitingTimestamp)` (0 when nil), with `now` from the injected clock; the
    /// statistics path (``applyConsumerStatistics(_:)``) no longer writes `lag_records` and ``recordLag(recordTimestamp:eventTime:now:)``
    /// / ``markCaughtUp()`` no longer write `lag_seconds`. Without a source both keep working.
    ///
    /// The source is held strongly until replaced, so an engine that also owns this object (through its
    /// observer) forms a reference cycle: harmless for the daemon's lifetime objects, and broken by
    /// `setLagSource(nil)` where that matters (tests creating many engines). It is called on the
    /// endpoint's threads (see ``LagSource``).
    public func setLagSource(_ source: (any LagSource)?) {
        self.lag.setSource(source)
    }

    /// Counts a state rebuild after a partition assignment: `records` replayed into the rolling
    /// windows (`volatility_consumer_state_rebuild_records_total`) in `seconds`
    /// (`volatility_consumer_state_rebuild_seconds`). Negative counts and non-finite durations are ignored.
    public func recordStateRebuild(records: Int, seconds: Double) {
        if records > 0 {
            self.stateRebuildRecords.increment(by: Int64(records))
        }
        if let s = Self.nonNegative(seconds) {
            self.stateRebuildSeconds.record(s)
        }
    }

    /// Counts partitions the fetch watch restarted (`volatility_consumer_fetch_restarts_total`).
    public func recordFetchRestarts(_ partitions: Int) {
        if partitions > 0 {
            self.fetchRestarts.increment(by: Int64(partitions))
        }
    }

    // MARK: Consumer state

    /// Sets `volatility_consumer_assigned_partitions`.
    public func setAssignedPartitions(_ n: Int) {
        self.assignedPartitions.set(to: Double(n))
    }

    /// Counts a rebalance event.
    public func recordRebalance(_ kind: RebalanceKind) {
        self.rebalances[kind]?.increment()
    }

    /// Counts an offset commit by result.
    public func recordOffsetCommit(success: Bool) {
        (success ? self.commitsOK : self.commitsError).increment()
    }

    /// Sets `volatility_consumer_inflight_records`.
    public func setInflight(_ n: Int) {
        self.inflight.set(to: Double(n))
    }

    /// Sets `volatility_consumer_state_keys`.
    public func setStateKeys(_ n: Int) {
        self.stateKeys.set(to: Double(n))
    }

    /// Applies a consumer's librdkafka statistics JSON (statistics callback, every
    /// `statistics.interval.ms`): sets `volatility_consumer_lag_records{topic,partition}` from
    /// `consumer_lag_stored` and removes the series of partitions no longer reported. Does not
    /// touch the metrics while a ``LagSource`` is installed (the scrape computes them).
    ///
    /// - Returns: `false` (metrics unchanged) when the document is not a JSON object.
    @discardableResult
    public func applyConsumerStatistics(json: String) -> Bool {
        guard let stats = try? LibrdkafkaStatistics.parse(json: json) else { return false }
        self.applyConsumerStatistics(stats)
        return true
    }

    /// Applies already-parsed consumer statistics; see ``applyConsumerStatistics(json:)``.
    public func applyConsumerStatistics(_ stats: LibrdkafkaStatistics) {
        self.lag.applyStatistics(stats.partitionLags)
    }

    /// Applies the producer's librdkafka statistics JSON: sets
    /// `volatility_consumer_producer_queue_messages` from the top-level `msg_cnt`.
    ///
    /// - Returns: `false` (metrics unchanged) when the document is not a JSON object or has no `msg_cnt`.
    @discardableResult
    public func applyProducerStatistics(json: String) -> Bool {
        guard let stats = try? LibrdkafkaStatistics.parse(json: json), let count = stats.messageCount else {
            return false
        }
        self.producerQueue.set(to: Double(count))
        return true
    }

    // MARK: Model and health

    /// Sets `volatility_consumer_model_loaded`.
    public func setModelLoaded(_ loaded: Bool) {
        self.modelLoaded.set(to: loaded ? 1 : 0)
    }

    /// Replaces the `volatility_consumer_model_info` series after a model reload (the variant of
    /// `predictions_total` follows each record's model, see ``recordPredictionDelivered(prediction:probability:endToEndSeconds:variant:)``).
    public func setModelInfo(variant: ModelVariantLabel? = nil, version: String, path: String) {
        self.modelInfo.withLock { current in
            let family = MetricCatalog.modelInfo
            let next = self.registry.makeGauge(
                descriptor: family.descriptor,
                labels: [("variant", variant?.rawValue ?? self.variant), ("version", version), ("path", path)]
            )
            next.set(to: 1)
            if next !== current {
                self.registry.unregisterGauge(current)
            }
            current = next
        }
    }

    /// Sets `volatility_consumer_ready` (1/0). The endpoint also mirrors `/readyz` into it at scrape time.
    public func setReady(_ ready: Bool) {
        self.ready.set(to: ready ? 1 : 0)
    }

    /// Sets `volatility_consumer_health_status` (1/0). The endpoint also mirrors `/healthz` into it at scrape time.
    public func setHealthy(_ healthy: Bool) {
        self.healthStatus.set(to: healthy ? 1 : 0)
    }

    /// Sets `volatility_consumer_last_progress_timestamp_seconds`: the wall-clock epoch seconds of the
    /// processing loop's last turn. The endpoint mirrors ``HealthState/lastProgressWallSeconds()`` into it
    /// at every scrape, so the loop itself pays nothing for it; it stays 0 where no endpoint runs.
    public func setLastProgressTimestamp(_ epochSeconds: Double) {
        guard epochSeconds.isFinite else { return }
        self.lastProgress.set(to: epochSeconds)
    }

    // MARK: Exposition

    /// Refreshes derived gauges right before rendering: the processing rate over the sliding
    /// window ending at `now` (wall-clock epoch seconds), the lag families from the ``LagSource``
    /// if one is installed, and the `process_*` metrics.
    public func refresh(now: Double) {
        self.processingRate.set(to: self.rateWindow.rate(at: now))
        self.lag.refresh(now: now)
        self.process.refresh()
    }

    /// Refreshes derived gauges (at the injected clock's now) and renders every metric in the
    /// Prometheus text exposition format 0.0.4.
    public func render() -> [UInt8] {
        self.refresh(now: self.clock())
        return self.registry.emitToBuffer()
    }

    /// ``render()`` as a `String`, for logs and tests.
    public func renderString() -> String {
        String(decoding: self.render(), as: UTF8.self)
    }

    private static func nonNegative(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        return max(value, 0)
    }
}

//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Prometheus
import Synchronization

/// The model-lifecycle metrics: reloads, the fallback, where the model came from, and shadow scoring.
///
/// Per-record updates (fallbacks, shadow comparisons) are relaxed atomics and a histogram record, so they are
/// allocation-free; every labelled series exists (at 0) from start-up.
public final class ModelMetrics: Sendable {
    private let reloads: [ReloadResult: Counter]
    private let fallbackActive: Gauge
    private let fallbacks: [FallbackReasonLabel: Counter]
    private let sources: [ModelSourceLabel: Gauge]
    private let shadowPredictions: [ModelVariantLabel: (negative: Counter, positive: Counter)]
    private let comparisons: [ComparisonResult: Counter]
    private let probabilityDifference: ValueHistogram
    private let lastReload: Gauge

    init(registry: PrometheusCollectorRegistry) {
        typealias C = MetricCatalog
        self.reloads = Dictionary(uniqueKeysWithValues: ReloadResult.allCases.map {
            ($0, registry.makeCounter(descriptor: C.modelReloads.descriptor, labels: [("result", $0.rawValue)]))
        })
        self.fallbackActive = registry.makeGauge(descriptor: C.modelFallbackActive.descriptor)
        self.fallbacks = Dictionary(uniqueKeysWithValues: FallbackReasonLabel.allCases.map {
            ($0, registry.makeCounter(descriptor: C.modelFallbacks.descriptor, labels: [("reason", $0.rawValue)]))
        })
        self.sources = Dictionary(uniqueKeysWithValues: ModelSourceLabel.allCases.map {
            ($0, registry.makeGauge(descriptor: C.modelSource.descriptor, labels: [("source", $0.rawValue)]))
        })
        self.shadowPredictions = Dictionary(uniqueKeysWithValues: ModelVariantLabel.allCases.map { variant in
            let labels = { (prediction: String) in [("variant", variant.rawValue), ("prediction", prediction)] }
            return (variant, (
                registry.makeCounter(descriptor: C.shadowPredictions.descriptor, labels: labels("0")),
                registry.makeCounter(descriptor: C.shadowPredictions.descriptor, labels: labels("1"))
            ))
        })
        self.comparisons = Dictionary(uniqueKeysWithValues: ComparisonResult.allCases.map {
            ($0, registry.makeCounter(descriptor: C.shadowComparisons.descriptor, labels: [("result", $0.rawValue)]))
        })
        self.probabilityDifference = registry.makeValueHistogram(
            descriptor: C.shadowProbabilityDifference.descriptor, buckets: MetricBuckets.probabilityDifference
        )
        self.lastReload = registry.makeGauge(descriptor: C.modelLastReloadTimestamp.descriptor)
    }

    /// Counts a reload (signal, admin request) and stamps its time.
    public func recordReload(_ result: ReloadResult, at epochSeconds: Double) {
        reloads[result]?.increment()
        lastReload.set(to: epochSeconds)
    }

    /// Sets `volatility_consumer_model_fallback_active` (the baseline scores every record).
    public func setFallbackActive(_ active: Bool) {
        fallbackActive.set(to: active ? 1 : 0)
    }

    /// Counts a fallback: a model that could not be loaded (once per start-up or reload), or one record.
    public func recordFallback(_ reason: FallbackReasonLabel) {
        fallbacks[reason]?.increment()
    }

    /// Sets `volatility_consumer_model_source{source}`: 1 for `source`, 0 for the others.
    public func setSource(_ source: ModelSourceLabel) {
        for (label, gauge) in sources { gauge.set(to: label == source ? 1 : 0) }
    }

    /// One record scored by the shadow model: its decision, and how it compares with the active model's.
    public func recordShadow(variant: ModelVariantLabel, prediction: Int, activePrediction: Int, probabilityDifference: Double) {
        if let counters = shadowPredictions[variant] {
            (prediction == 1 ? counters.positive : counters.negative).increment()
        }
        comparisons[prediction == activePrediction ? .agree : .disagree]?.increment()
        if probabilityDifference.isFinite { self.probabilityDifference.record(probabilityDifference) }
    }
}

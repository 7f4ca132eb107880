//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// Model quality measured online: realised-label outcomes (the confusion matrix
// as counters, Brier score as sum/count) and drift of the live inputs and
// predictions against the model's reference profile.
//
//===----------------------------------------------------------------------===//

import Prometheus

/// Model role label of the quality metrics.
public enum QualityRole: String, Sendable, CaseIterable {
    /// The model whose predictions are published.
    case active
    /// A model scored alongside for comparison.
    case shadow
}

/// Why open horizons were dropped, the `reason` label of `volatility_consumer_realised_expired_total`.
public enum QualityExpiry: String, Sendable, CaseIterable {
    case maxPending = "max_pending"
    case capacityEviction = "capacity_eviction"
    case idleEviction = "idle_eviction"
}

/// The realised-label and drift metrics. Every labelled series is created at init (at 0, or NaN for
/// gauges without data yet), so rates and ratios exist before the first outcome. Thread-safe: counters and
/// gauges are atomics; series are found by array index, no allocation.
public final class ModelQualityMetrics: Sendable {
    /// Feature names in model order (the `feature` label values).
    public let featureNames: [String]

    private let outcomes: [Counter]  // [variant][role][predicted][actual]
    private let brierSum: [Counter]  // [variant][role]
    private let brierCount: [Counter]
    private let unlabelled: [Counter]
    private let expired: [Counter]  // [reason]
    private let featurePSI: [Gauge]
    private let nonFiniteCounters: [Counter]
    private let predictionPSI: Gauge
    private let predictedPositiveRate: Gauge
    private let referencePositiveRate: Gauge

    /// The model features in order, as the daemon's models use them.
    public static let defaultFeatureNames = [
        "midprice_return_mean", "midprice_return_std", "bid_ask_spread", "trade_intensity", "order_book_imbalance",
    ]

    /// Registers the families on `registry`.
    public init(registry: PrometheusCollectorRegistry, featureNames: [String] = ModelQualityMetrics.defaultFeatureNames) {
        typealias C = MetricCatalog
        self.featureNames = featureNames
        var outcomes: [Counter] = []
        var brierSum: [Counter] = []
        var brierCount: [Counter] = []
        var unlabelled: [Counter] = []
        for variant in ModelVariantLabel.allCases {
            for role in QualityRole.allCases {
                let base = [("variant", variant.rawValue), ("role", role.rawValue)]
                for predicted in 0...1 {
                    for actual in 0...1 {
                        outcomes.append(registry.makeCounter(
                            descriptor: C.realisedOutcomes.descriptor,
                            labels: base + [("predicted", "\(predicted)"), ("actual", "\(actual)")]))
                    }
                }
                brierSum.append(registry.makeCounter(descriptor: C.realisedBrierSum.descriptor, labels: base))
                brierCount.append(registry.makeCounter(descriptor: C.realisedBrierCount.descriptor, labels: base))
                unlabelled.append(registry.makeCounter(descriptor: C.realisedUnlabelled.descriptor, labels: base))
            }
        }
        self.outcomes = outcomes
        self.brierSum = brierSum
        self.brierCount = brierCount
        self.unlabelled = unlabelled
        self.expired = QualityExpiry.allCases.map {
            registry.makeCounter(descriptor: C.realisedExpired.descriptor, labels: [("reason", $0.rawValue)])
        }
        self.featurePSI = featureNames.map {
            let gauge = registry.makeGauge(descriptor: C.featurePSI.descriptor, labels: [("feature", $0)])
            gauge.set(to: .nan)
            return gauge
        }
        self.nonFiniteCounters = featureNames.map {
            registry.makeCounter(descriptor: C.featureNonFinite.descriptor, labels: [("feature", $0)])
        }
        self.predictionPSI = registry.makeGauge(descriptor: C.predictionPSI.descriptor)
        self.predictedPositiveRate = registry.makeGauge(descriptor: C.predictedPositiveRate.descriptor)
        self.referencePositiveRate = registry.makeGauge(descriptor: C.referencePositiveRate.descriptor)
        self.predictionPSI.set(to: .nan)
        self.predictedPositiveRate.set(to: .nan)
        self.referencePositiveRate.set(to: .nan)
    }

    @inline(__always)
    private static func modelIndex(_ variant: ModelVariantLabel, _ role: QualityRole) -> Int {
        (variant == .ml ? 0 : 1) * QualityRole.allCases.count + (role == .active ? 0 : 1)
    }

    /// Counts one completed horizon. `actual` is the realised label, `nil` for an unlabelled horizon
    /// (fewer than 2 differences): then only `realised_unlabelled_total` moves.
    public func recordOutcome(
        variant: ModelVariantLabel, role: QualityRole, predicted: Int, actual: Int?, probability: Double
    ) {
        let model = Self.modelIndex(variant, role)
        guard let actual else {
            self.unlabelled[model].increment()
            return
        }
        let p = predicted == 1 ? 1 : 0
        let a = actual == 1 ? 1 : 0
        self.outcomes[model * 4 + p * 2 + a].increment()
        if probability.isFinite {
            let error = probability - Double(a)
            self.brierSum[model].increment(by: error * error)
            self.brierCount[model].increment()
        }
    }

    /// Counts horizons dropped without an outcome.
    public func recordExpired(_ reason: QualityExpiry, count: Int) {
        guard count > 0 else { return }
        self.expired[QualityExpiry.allCases.firstIndex(of: reason)!].increment(by: Int64(count))
    }

    /// Adds non-finite values seen for feature `index` (model order).
    public func recordNonFinite(feature index: Int, count: Int) {
        guard count > 0, self.nonFiniteCounters.indices.contains(index) else { return }
        self.nonFiniteCounters[index].increment(by: Int64(count))
    }

    /// Sets `feature_psi{feature}` for feature `index`; `nil` (not enough data) exports NaN.
    public func setFeaturePSI(_ index: Int, _ value: Double?) {
        guard self.featurePSI.indices.contains(index) else { return }
        self.featurePSI[index].set(to: value ?? .nan)
    }

    /// Sets `prediction_psi`; `nil` exports NaN.
    public func setPredictionPSI(_ value: Double?) {
        self.predictionPSI.set(to: value ?? .nan)
    }

    /// Sets `predicted_positive_rate` (over the drift window); `nil` exports NaN.
    public func setPredictedPositiveRate(_ value: Double?) {
        self.predictedPositiveRate.set(to: value ?? .nan)
    }

    /// Sets `reference_positive_rate` from the active model's reference; `nil` (no reference) exports NaN.
    public func setReferencePositiveRate(_ value: Double?) {
        self.referencePositiveRate.set(to: value ?? .nan)
    }
}

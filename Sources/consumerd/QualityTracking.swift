import ConsumerMetrics
import FeaturePipeline

/// The processing thread's part of model-quality monitoring: the drift window of the active model (all
/// partitions together) and the export of realised outcomes, expiries and drift to the metrics.
///
/// PSI is recomputed every ``exportInterval`` predictions (O(bins) each), so a prediction costs the drift
/// window's few integer updates and a countdown.
struct QualityTracking {
    /// Whether predictions open realised-label horizons (τ is known).
    var labelsEnabled: Bool
    private(set) var drift: DriftMonitor?
    private let metrics: ModelQualityMetrics
    private var predictionsUntilExport = 0
    private var nonFiniteExported = [Int](repeating: 0, count: DriftMonitor.dimensions)

    static let exportInterval = 256

    init(resolved: QualityConfiguration.Resolved?, metrics: ModelQualityMetrics) {
        self.labelsEnabled = resolved?.labelSettings != nil
        self.drift = resolved?.drift
        self.metrics = metrics
        metrics.setReferencePositiveRate(resolved?.reference?.positiveRate)
    }

    /// Starts a new drift window (after a model reload): `drift` is the new model's, or `nil` without a
    /// reference. PSI gauges go back to NaN until the new window holds enough predictions.
    mutating func resetDrift(_ drift: DriftMonitor?) {
        self.drift = drift
        self.predictionsUntilExport = 0
        self.nonFiniteExported = [Int](repeating: 0, count: DriftMonitor.dimensions)
        self.metrics.setReferencePositiveRate(drift?.reference.positiveRate)
        self.export()
    }

    /// Adds one prediction of the active model to the drift window.
    @inline(__always)
    mutating func recordPrediction(_ prediction: Prediction) {
        guard self.drift != nil else { return }
        self.drift!.record(
            features: prediction.features, probability: prediction.score.probability,
            prediction: prediction.score.prediction)
        self.predictionsUntilExport -= 1
        if self.predictionsUntilExport <= 0 {
            self.predictionsUntilExport = Self.exportInterval
            self.export()
        }
    }

    private mutating func export() {
        guard let drift else {
            for i in 0..<FeatureVector.count { self.metrics.setFeaturePSI(i, nil) }
            self.metrics.setPredictionPSI(nil)
            self.metrics.setPredictedPositiveRate(nil)
            return
        }
        for i in 0..<FeatureVector.count {
            self.metrics.setFeaturePSI(i, drift.featurePSI(i))
            self.metrics.recordNonFinite(feature: i, count: drift.nonFiniteTotals[i] - self.nonFiniteExported[i])
            self.nonFiniteExported[i] = drift.nonFiniteTotals[i]
        }
        self.metrics.setPredictionPSI(drift.predictionPSI)
        self.metrics.setPredictedPositiveRate(drift.predictedPositiveRate)
    }

    /// Counts the outcomes a record completed and the horizons dropped meanwhile. `mutating` although it
    /// changes nothing here: called on the handler's stored property, a non-mutating call copies the whole
    /// struct (retaining every reference in it) once per record; an in-place access does not.
    mutating func recordLabels(_ outcomes: [RealisedOutcome], expiries: RealisedLabelTracker.ExpiryCounts) {
        for outcome in outcomes {
            self.metrics.recordOutcome(
                variant: ModelVariantLabel(outcome.score.variant),
                role: outcome.score.role == .active ? .active : .shadow,
                predicted: outcome.score.prediction, actual: outcome.realisedLabel,
                probability: outcome.score.probability)
        }
        if !expiries.isEmpty {
            self.metrics.recordExpired(.maxPending, count: expiries.maxPending)
            self.metrics.recordExpired(.capacityEviction, count: expiries.capacityEviction)
            self.metrics.recordExpired(.idleEviction, count: expiries.idleEviction)
        }
    }
}

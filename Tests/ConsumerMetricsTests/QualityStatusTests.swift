import ConsumerMetrics
import Testing

/// The status page's model-quality panel is computed from the metrics: precision, recall and Brier from the
/// realised-outcome counters, drift from the PSI gauges, nothing before there is data.
@Suite struct QualityStatusTests {
    static func members(_ value: StatusValue) -> [String: StatusValue] {
        guard case .object(let pairs) = value else { return [:] }
        return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
    }

    @Test func emptyBeforeAnyFigureExists() {
        let metrics = ConsumerMetrics(variant: "ml", modelVersion: "v", modelPath: "m", buildVersion: "t")
        #expect(Self.members(metrics.qualityStatus()).isEmpty)
    }

    @Test func precisionRecallAndBrierFollowTheOutcomeCounters() {
        let metrics = ConsumerMetrics(variant: "ml", modelVersion: "v", modelPath: "m", buildVersion: "t")
        // 3 true positives, 1 false positive, 2 false negatives, 4 true negatives for ml (active).
        for (predicted, actual, count) in [(1, 1, 3), (1, 0, 1), (0, 1, 2), (0, 0, 4)] {
            for _ in 0..<count {
                metrics.quality.recordOutcome(variant: .ml, role: .active, predicted: predicted, actual: actual, probability: Double(predicted))
            }
        }
        metrics.quality.setPredictionPSI(0.25)
        metrics.quality.setFeaturePSI(0, 0.5)
        let status = Self.members(metrics.qualityStatus())
        #expect(status["ml (active) realised precision"] == .number(0.75))
        #expect(status["ml (active) realised recall"] == .number(0.6))
        #expect(status["ml (active) labelled outcomes"] == .int(10))
        // Brier: the 3 wrong decisions with probability 0/1 score 1 each, the 7 right ones 0.
        #expect(status["ml (active) Brier score"] == .number(0.3))
        #expect(status["prediction PSI"] == .number(0.25))
        #expect(status["PSI midprice_return_mean"] == .number(0.5))
        #expect(status["baseline (shadow) labelled outcomes"] == nil)
    }
}

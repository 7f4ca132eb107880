import Testing

@testable import ConsumerMetrics

/// The realised-label and drift families: every series exists from the start, and updates land where they
/// should.
@Suite struct ModelQualityMetricsTests {
    @Test func everySeriesExistsAtStartWithDriftUnknown() {
        let s = Exposition(makeMetrics().renderString()).samples
        for variant in ["ml", "baseline"] {
            for role in ["active", "shadow"] {
                for predicted in ["0", "1"] {
                    for actual in ["0", "1"] {
                        let key = #"volatility_consumer_realised_outcomes_total{variant="\#(variant)",role="\#(role)",predicted="\#(predicted)",actual="\#(actual)"}"#
                        #expect(s[key] == 0, "\(key)")
                    }
                }
                #expect(s[#"volatility_consumer_realised_brier_count{variant="\#(variant)",role="\#(role)"}"#] == 0)
                #expect(s[#"volatility_consumer_realised_unlabelled_total{variant="\#(variant)",role="\#(role)"}"#] == 0)
            }
        }
        for reason in ["max_pending", "capacity_eviction", "idle_eviction"] {
            #expect(s[#"volatility_consumer_realised_expired_total{reason="\#(reason)"}"#] == 0)
        }
        for feature in ModelQualityMetrics.defaultFeatureNames {
            #expect(s[#"volatility_consumer_feature_psi{feature="\#(feature)"}"#]?.isNaN == true)
            #expect(s[#"volatility_consumer_feature_nonfinite_total{feature="\#(feature)"}"#] == 0)
        }
        #expect(s["volatility_consumer_prediction_psi"]?.isNaN == true)
        #expect(s["volatility_consumer_reference_positive_rate"]?.isNaN == true)
    }

    @Test func outcomesFillTheConfusionMatrixAndBrier() {
        let metrics = makeMetrics()
        let q = metrics.quality
        q.recordOutcome(variant: .ml, role: .active, predicted: 1, actual: 1, probability: 0.9)
        q.recordOutcome(variant: .ml, role: .active, predicted: 1, actual: 0, probability: 0.6)
        q.recordOutcome(variant: .baseline, role: .shadow, predicted: 0, actual: nil, probability: 0.1)
        q.recordExpired(.idleEviction, count: 3)
        q.recordNonFinite(feature: 3, count: 2)
        q.setFeaturePSI(2, 0.25)
        q.setPredictionPSI(0.01)
        q.setReferencePositiveRate(0.178)
        let s = Exposition(metrics.renderString()).samples
        #expect(s[#"volatility_consumer_realised_outcomes_total{variant="ml",role="active",predicted="1",actual="1"}"#] == 1)
        #expect(s[#"volatility_consumer_realised_outcomes_total{variant="ml",role="active",predicted="1",actual="0"}"#] == 1)
        #expect(abs(s[#"volatility_consumer_realised_brier_sum{variant="ml",role="active"}"#]! - (0.01 + 0.36)) < 1e-12)
        #expect(s[#"volatility_consumer_realised_brier_count{variant="ml",role="active"}"#] == 2)
        #expect(s[#"volatility_consumer_realised_unlabelled_total{variant="baseline",role="shadow"}"#] == 1)
        #expect(s[#"volatility_consumer_realised_expired_total{reason="idle_eviction"}"#] == 3)
        #expect(s[#"volatility_consumer_feature_nonfinite_total{feature="trade_intensity"}"#] == 2)
        #expect(s[#"volatility_consumer_feature_psi{feature="bid_ask_spread"}"#] == 0.25)
        #expect(s["volatility_consumer_prediction_psi"] == 0.01)
        #expect(s["volatility_consumer_reference_positive_rate"] == 0.178)
    }
}

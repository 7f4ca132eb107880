import ConsumerMetrics
import Testing

/// The admin token check and the model-lifecycle series as `/metrics` shows them.
@Suite struct ModelMetricsTests {
    @Test func onlyTheExactBearerTokenIsAllowed() {
        let authorization = AdminAuthorization(token: Array("0123456789abcdef-token".utf8))
        #expect(authorization.allows("Bearer 0123456789abcdef-token"))
        #expect(authorization.allows("bearer 0123456789abcdef-token"))
        #expect(!authorization.allows(nil))
        #expect(!authorization.allows(""))
        #expect(!authorization.allows("Bearer "))
        #expect(!authorization.allows("Bearer 0123456789abcdef-toke"))
        #expect(!authorization.allows("Bearer 0123456789abcdef-tokenX"))
        #expect(!authorization.allows("Bearer 1123456789abcdef-token"))
        #expect(!authorization.allows("Basic 0123456789abcdef-token"))
        #expect(!authorization.allows("0123456789abcdef-token"))
        #expect(!AdminAuthorization(token: []).allows("Bearer "))
    }

    @Test func modelSeriesExistFromStartAndFollowEvents() {
        let metrics = ConsumerMetrics(variant: "ml", modelVersion: "v1", modelPath: "m.json", buildVersion: "test")
        var text = metrics.renderString()
        for series in [
            #"volatility_consumer_model_reloads_total{result="ok"} 0"#,
            #"volatility_consumer_model_reloads_total{result="error"} 0"#,
            #"volatility_consumer_model_fallbacks_total{reason="load_error"} 0"#,
            #"volatility_consumer_model_fallbacks_total{reason="non_finite_score"} 0"#,
            #"volatility_consumer_shadow_comparisons_total{result="agree"} 0"#,
            #"volatility_consumer_predictions_total{variant="baseline",prediction="1"} 0"#,
            #"volatility_consumer_dlq_records_total{error_type="model_error"} 0"#,
        ] {
            #expect(text.contains(series), "missing \(series)")
        }
        metrics.model.recordReload(.error, at: 1000)
        metrics.model.setFallbackActive(true)
        metrics.model.recordFallback(.nonFiniteScore)
        metrics.model.setSource(.cache)
        metrics.model.recordShadow(variant: .baseline, prediction: 1, activePrediction: 0, probabilityDifference: 0.4)
        metrics.recordPredictionDelivered(prediction: 1, probability: 0.9, endToEndSeconds: nil, variant: .baseline)
        metrics.setModelInfo(variant: .baseline, version: "b1", path: "b.json")
        text = metrics.renderString()
        for series in [
            #"volatility_consumer_model_reloads_total{result="error"} 1"#,
            "volatility_consumer_model_fallback_active 1",
            #"volatility_consumer_model_fallbacks_total{reason="non_finite_score"} 1"#,
            #"volatility_consumer_model_source{source="cache"} 1"#,
            #"volatility_consumer_model_source{source="file"} 0"#,
            #"volatility_consumer_shadow_predictions_total{variant="baseline",prediction="1"} 1"#,
            #"volatility_consumer_shadow_comparisons_total{result="disagree"} 1"#,
            #"volatility_consumer_predictions_total{variant="baseline",prediction="1"} 1"#,
            #"volatility_consumer_predictions_total{variant="ml",prediction="1"} 0"#,
            #"volatility_consumer_model_info{variant="baseline",version="b1",path="b.json"} 1"#,
        ] {
            #expect(text.contains(series), "missing \(series)")
        }
        #expect(!text.contains(#"model_info{variant="ml""#), "the old model_info series is still exported")
    }
}

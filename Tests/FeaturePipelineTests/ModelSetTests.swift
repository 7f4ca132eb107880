import FeaturePipeline
import Foundation
import Testing

/// The active/fallback/shadow set the daemon swaps as a whole, and the output fields that name a fallback or a
/// shadow.
@Suite struct ModelSetTests {
    static let ml: LoadedModel = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try! LoadedModel.load(
            variant: .ml, modelPath: root.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            baselinePath: ""
        )
    }()
    static let baseline: LoadedModel = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try! LoadedModel.load(
            variant: .baseline, modelPath: "", baselinePath: root.appendingPathComponent("config/models/baseline.json").path
        )
    }()
    static let features = FeatureVector(
        midpriceReturnMean: 1e-6, midpriceReturnStd: 3e-5, bidAskSpread: 0.01, tradeIntensity: 2.5, orderBookImbalance: 0.1, windowSize: 10, windowDuration: 30
    )

    @Test func aFiniteScoreIsTheActiveModels() {
        let set = ModelSet(active: Self.ml, fallback: Self.baseline)
        #expect(set.scoreActive(Self.features) == .scored(Self.ml.predict(Self.features)))
    }

    @Test func aNonFiniteMLScoreFallsBackToTheBaselineOrFails() {
        let withFallback = ModelSet(active: Self.ml, fallback: Self.baseline)
        #expect(withFallback.scoreActive(Self.features, forceNonFinite: true) == .fellBack(Self.baseline.predict(Self.features)))
        let without = ModelSet(active: Self.ml)
        #expect(without.scoreActive(Self.features, forceNonFinite: true) == .failed)
    }

    @Test func theBaselinesOwnScoreIsNeverReplaced() {
        let set = ModelSet(active: Self.baseline, fallback: Self.baseline)
        let nan = FeatureVector(
            midpriceReturnMean: 0, midpriceReturnStd: .nan, bidAskSpread: 0, tradeIntensity: 0, orderBookImbalance: 0, windowSize: 2, windowDuration: 1
        )
        guard case .scored(let score) = set.scoreActive(nan) else {
            Issue.record("the baseline's score was replaced")
            return
        }
        #expect(score.probability.isNaN)
    }

    @Test func outputsNameTheFallbackReasonAndTheShadow() throws {
        let prediction = Prediction(
            productId: "BTC-USD", eventTime: 1_762_932_011.5, price: 100, midprice: 100, features: Self.features,
            score: ModelScore(probability: 0.25, prediction: 0)
        )
        let source = RecordSource(topic: "ticks.features", partition: 1, offset: 7)
        func encode(_ encoder: PredictionEncoder) throws -> [String: Any] {
            var buffer: [UInt8] = []
            encoder.encode(prediction, processingTime: 1_762_932_012, source: source, into: &buffer)
            return try #require(try JSONSerialization.jsonObject(with: Data(buffer)) as? [String: Any])
        }
        let plain = try encode(PredictionEncoder(modelVariant: .ml, modelVersion: "v1", threshold: 0.5))
        #expect(plain["fallback_reason"] == nil && plain["shadow"] == nil)
        let fallback = try encode(PredictionEncoder(modelVariant: .baseline, modelVersion: "b1", threshold: 2, fallbackReason: .nonFiniteScore))
        #expect(fallback["fallback_reason"] as? String == "non_finite_score")
        #expect(fallback["model_variant"] as? String == "baseline")
        let shadow = try encode(PredictionEncoder(modelVariant: .baseline, modelVersion: "b1", threshold: 2, shadow: true))
        #expect(shadow["shadow"] as? Bool == true)
        #expect((shadow["features"] as? [String: Any])?.count == 5)
    }
}

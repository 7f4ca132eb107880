import Foundation
import Testing

import FeaturePipeline

@Suite("Baseline z-score model")
struct BaselineModelTests {
    @Test("probability is 1 / (1 + exp(-(z - threshold)))")
    func formula() throws {
        let model = try BaselineModel(mean: 2.1084822e-05, std: 3.5998595e-06, threshold: 2)
        let f = features(std: 3e-5)
        let z = (3e-5 - 2.1084822e-05) / 3.5998595e-06
        #expect(model.zScore(f) == z)
        #expect(model.probability(f) == 1 / (1 + exp(-(z - 2))))
    }

    @Test("decision at z == threshold is a spike; just below is not")
    func decisionBoundary() throws {
        let baseline = try BaselineModel(mean: 0, std: 1, threshold: 2)
        let model = LoadedModel(variant: .baseline, xgboost: nil, baseline: baseline, version: "v", path: "p")
        #expect(model.threshold == 2)
        #expect(model.predict(features(std: 2)) == ModelScore(probability: 0.5, prediction: 1))
        #expect(model.predict(features(std: 2.0.nextDown)).prediction == 0)
    }

    @Test("loads config/models/baseline.json")
    func loadsConfig() throws {
        let model = try BaselineModel(jsonData: Data(contentsOf: TestPaths.baselineFile))
        #expect(model == (try BaselineModel(mean: 2.1084822e-05, std: 3.5998595e-06, threshold: 2)))
    }

    @Test("bad parameters are rejected")
    func badParameters() {
        #expect(throws: ModelLoadError.self) { try BaselineModel(mean: 0, std: 0, threshold: 2) }
        #expect(throws: ModelLoadError.self) { try BaselineModel(mean: 0, std: -1, threshold: 2) }
        #expect(throws: ModelLoadError.self) { try BaselineModel(mean: .nan, std: 1, threshold: 2) }
        #expect(throws: ModelLoadError.self) { try BaselineModel(mean: 0, std: 1, threshold: .infinity) }
        #expect(throws: ModelLoadError.self) { try BaselineModel(jsonData: Data(#"{"mean": 0, "std": 1}"#.utf8)) }
        #expect(throws: ModelLoadError.self) { try BaselineModel(jsonData: Data(#"{"mean": 0, "std": "1", "threshold": 2}"#.utf8)) }
        #expect(throws: ModelLoadError.self) { try BaselineModel(jsonData: Data(#"{"mean": 0, "std": 1, "threshold": true}"#.utf8)) }
        #expect(throws: ModelLoadError.self) { try BaselineModel(jsonData: Data("{".utf8)) }
    }
}

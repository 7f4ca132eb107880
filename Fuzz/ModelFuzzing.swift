import Foundation

/// Oracles for model files: loading either succeeds or throws a ``ModelLoadError`` with a reason — never a
/// crash, a hang or a model that breaks the caps; a loaded model scores any input to a probability in [0, 1]
/// (or NaN) without crashing.
enum ModelFuzzing {
    static let probes: [FeatureVector] = [
        FeatureVector(midpriceReturnMean: 0, midpriceReturnStd: 0, bidAskSpread: 0, tradeIntensity: 0,
                      orderBookImbalance: 0, windowSize: 2, windowDuration: 1),
        FeatureVector(midpriceReturnMean: -1e-4, midpriceReturnStd: 3e-4, bidAskSpread: 0.01, tradeIntensity: 1.5,
                      orderBookImbalance: 1e-7, windowSize: 10, windowDuration: 30),
        FeatureVector(midpriceReturnMean: .nan, midpriceReturnStd: .infinity, bidAskSpread: -.infinity,
                      tradeIntensity: .infinity, orderBookImbalance: .nan, windowSize: 2, windowDuration: 0),
    ]

    static func run(_ input: UnsafeRawBufferPointer) {
        let data = Data(input)
        do {
            let model = try XGBoostModel(jsonData: data)
            if model.treeCount > XGBoostModel.maximumTreeCount {
                fuzzFailure("loaded \(model.treeCount) trees, above the cap")
            }
            for f in self.probes {
                let p = model.probability(f)
                if !(p.isNaN || (0...1).contains(p)) { fuzzFailure("probability \(p) outside [0, 1]") }
            }
        } catch {
            if error.description.isEmpty { fuzzFailure("ModelLoadError without a description") }
        }
        do {
            let baseline = try BaselineModel(jsonData: data)
            for f in self.probes { _ = baseline.probability(f) }
        } catch {
            if error.description.isEmpty { fuzzFailure("baseline ModelLoadError without a description") }
        }
    }
}

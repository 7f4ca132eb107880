import Foundation
import Testing

@testable import FeaturePipeline

/// ``XGBoostModel/probability(_:)`` walks four trees in lockstep for speed; its result must be the very bits a
/// plain walk of one tree after the other gives (same leaves, added to the margin in the same order).
@Suite("XGBoost lockstep walk")
struct TreeWalkTests {
    /// The reference: one tree at a time, the leaf values summed in tree order, in `Float` as XGBoost does.
    static func oneTreeAtATime(_ model: XGBoostModel, _ features: FeatureVector) -> Double {
        let x: [Float] = [
            Float(features.midpriceReturnMean), Float(features.midpriceReturnStd), Float(features.bidAskSpread),
            Float(features.tradeIntensity), Float(features.orderBookImbalance),
        ]
        var margin = model.baseMargin
        for root in model.roots {
            var node = model.nodes[Int(root)]
            while node.left >= 0 {
                let value = x[Int(node.feature)]
                let next = value.isNaN ? node.missing : (value < node.value ? node.left : node.right)
                node = model.nodes[Int(next)]
            }
            margin += node.value
        }
        return 1 / (1 + exp(-Double(margin)))
    }

    /// Feature vectors around the model's split thresholds, with missing (NaN) and extreme values mixed in.
    static func vectors(count: Int) -> [FeatureVector] {
        var generator = SplitMix64(seed: 0x5EED)
        func pick(_ scale: Double) -> Double {
            switch generator.next() % 16 {
            case 0: .nan
            case 1: .infinity
            case 2: -.infinity
            case 3: 0
            default: (Double(generator.next() % 2_000_001) / 1_000_000 - 1) * scale
            }
        }
        return (0..<count).map { _ in
            FeatureVector(
                midpriceReturnMean: pick(0.001), midpriceReturnStd: abs(pick(0.001)), bidAskSpread: abs(pick(0.05)),
                tradeIntensity: abs(pick(10)), orderBookImbalance: pick(1), windowSize: 10, windowDuration: 3)
        }
    }

    @Test("the shipped model (100 trees) gives the one-tree-at-a-time result bit for bit")
    func shippedModel() throws {
        let model = try XGBoostModel(jsonData: Data(contentsOf: TestPaths.modelFile))
        #expect(model.treeCount == 100)
        var differing = 0
        for features in Self.vectors(count: 20_000) {
            let lockstep = model.probability(features)
            let reference = Self.oneTreeAtATime(model, features)
            if lockstep.bitPattern != reference.bitPattern { differing += 1 }
        }
        #expect(differing == 0)
    }

    @Test("tree counts that are not a multiple of four (the remainder walked alone)", arguments: [1, 3, 5, 7])
    func remainderTrees(trees: Int) throws {
        let data = try Data(contentsOf: TestPaths.modelFile)
        var root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var learner = try #require(root["learner"] as? [String: Any])
        var booster = try #require(learner["gradient_booster"] as? [String: Any])
        var inner = try #require(booster["model"] as? [String: Any])
        let all = try #require(inner["trees"] as? [Any])
        inner["trees"] = Array(all.prefix(trees))
        if var parameters = inner["gbtree_model_param"] as? [String: Any] {
            parameters["num_trees"] = String(trees)
            inner["gbtree_model_param"] = parameters
        }
        if let info = inner["tree_info"] as? [Any] { inner["tree_info"] = Array(info.prefix(trees)) }
        booster["model"] = inner
        learner["gradient_booster"] = booster
        root["learner"] = learner
        let model = try XGBoostModel(jsonData: JSONSerialization.data(withJSONObject: root))
        #expect(model.treeCount == trees)
        var differing = 0
        for features in Self.vectors(count: 2_000) {
            if model.probability(features).bitPattern != Self.oneTreeAtATime(model, features).bitPattern { differing += 1 }
        }
        #expect(differing == 0)
    }
}

import Foundation
import Testing

@testable import FeaturePipeline

/// ``XGBoostModel/probability(_:)`` against a plain reading of the loaded trees: the very bits a walk of one tree
/// after the other gives (same leaves, added to the margin in the same order), with missing and extreme inputs.
/// (A four-trees-in-lockstep walk was tried and measured slower: `predict: XGBoost 100 trees` p50 537 ns
/// against 447 ns.)
@Suite("XGBoost tree walk")
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
            let walked = model.probability(features)
            let reference = Self.oneTreeAtATime(model, features)
            if walked.bitPattern != reference.bitPattern { differing += 1 }
        }
        #expect(differing == 0)
    }

    /// A random tree in XGBoost's layout with node ids in a shuffled order (children after their parent, but not
    /// side by side nor breadth-first), random shapes up to depth 7, mixed default directions, and thresholds
    /// drawn from `thresholds` so that inputs can hit them exactly.
    static func randomTree(_ g: inout SplitMix64, features: Int, thresholds: [Double]) -> SyntheticModel.Tree {
        // Grow a shape: each node is a split with probability falling with depth.
        var children: [(Int, Int)?] = [nil]
        var depth = [0]
        var pending = [0]
        while let node = pending.popLast() {
            guard depth[node] < 7, g.next() % 100 < UInt64(85 - 12 * depth[node]) else { continue }
            let l = children.count, r = children.count + 1
            children[node] = (l, r)
            children += [nil, nil]
            depth += [depth[node] + 1, depth[node] + 1]
            pending += g.next() & 1 == 0 ? [l, r] : [r, l]
        }
        // Number the nodes in a random order that still puts every child after its parent.
        var order: [Int] = []
        var ready = [0]
        while !ready.isEmpty {
            let pick = Int(g.next() % UInt64(ready.count))
            let node = ready.remove(at: pick)
            order.append(node)
            if let (l, r) = children[node] { ready += [l, r] }
        }
        var id = [Int](repeating: 0, count: order.count)
        for (position, node) in order.enumerated() { id[node] = position }
        var tree = SyntheticModel.Tree(
            left: Array(repeating: -1, count: order.count), right: Array(repeating: -1, count: order.count),
            splitIndices: Array(repeating: 0, count: order.count), conditions: Array(repeating: 0, count: order.count),
            defaultLeft: Array(repeating: 0, count: order.count))
        for node in 0..<order.count {
            let n = id[node]
            if let (l, r) = children[node] {
                tree.left[n] = id[l]
                tree.right[n] = id[r]
                tree.splitIndices[n] = Int(g.next() % UInt64(features))
                tree.conditions[n] = thresholds[Int(g.next() % UInt64(thresholds.count))]
                tree.defaultLeft[n] = Int(g.next() & 1)
            } else {
                tree.conditions[n] = Double(Float(Double(g.next() % 2001) / 1000 - 1))  // a leaf value
            }
        }
        return tree
    }

    @Test("random trees (shuffled node ids, feature orders and subsets, default directions) score bit for bit like the one-at-a-time walk, inputs on the thresholds included")
    func randomModels() throws {
        var g = SplitMix64(seed: 0x7EE5)
        // Values that are exactly representable in Float, so an input can equal a threshold after conversion.
        let thresholds: [Double] = (0..<40).map { _ in Double(Float(Double(g.next() % 20_001) / 10_000 - 1)) } + [0, -0.0]
        var checked = 0
        for _ in 0..<12 {
            // A random subset of the features, in a random order.
            var names = FeatureVector.names
            for i in stride(from: names.count - 1, to: 0, by: -1) { names.swapAt(i, Int(g.next() % UInt64(i + 1))) }
            names = Array(names.prefix(1 + Int(g.next() % UInt64(names.count))))
            let trees = (0..<(1 + Int(g.next() % 30))).map { _ in Self.randomTree(&g, features: names.count, thresholds: thresholds) }
            let model = try XGBoostModel(jsonData: SyntheticModel.json(trees: trees, featureNames: names))
            func pick() -> Double {
                switch g.next() % 8 {
                case 0: .nan
                case 1: g.next() & 1 == 0 ? .infinity : -.infinity
                case 2, 3, 4: thresholds[Int(g.next() % UInt64(thresholds.count))]  // exactly on a threshold
                default: Double(g.next() % 40_001) / 10_000 - 2
                }
            }
            for _ in 0..<3_000 {
                let features = FeatureVector(
                    midpriceReturnMean: pick(), midpriceReturnStd: pick(), bidAskSpread: pick(), tradeIntensity: pick(),
                    orderBookImbalance: pick(), windowSize: 10, windowDuration: 3)
                let walked = model.probability(features)
                let reference = Self.oneTreeAtATime(model, features)
                #expect(walked.bitPattern == reference.bitPattern, "model \(names), \(features)")
                if walked.bitPattern != reference.bitPattern { return }
                checked += 1
            }
        }
        #expect(checked == 36_000)
    }
}

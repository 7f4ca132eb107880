import Foundation
import Testing

import FeaturePipeline

/// Builds small XGBoost JSON models for tests.
enum SyntheticModel {
    struct Tree {
        var left: [Int]
        var right: [Int]
        var splitIndices: [Int]
        var conditions: [Double]
        var defaultLeft: [Int]

        /// One split on `feature` at `threshold`: left leaf `low`, right leaf `high`.
        static func stump(feature: Int, threshold: Double, low: Double, high: Double, defaultLeft: Bool = false) -> Tree {
            Tree(
                left: [1, -1, -1], right: [2, -1, -1], splitIndices: [feature, 0, 0],
                conditions: [threshold, low, high], defaultLeft: [defaultLeft ? 1 : 0, 0, 0])
        }
    }

    static func json(
        trees: [Tree],
        baseScore: String = "5E-1",
        objective: String = "binary:logistic",
        booster: String = "gbtree",
        featureNames: [String]? = FeatureVector.names
    ) -> Data {
        let treeObjects: [[String: Any]] = trees.enumerated().map { (i, t) in
            [
                "id": i, "left_children": t.left, "right_children": t.right, "split_indices": t.splitIndices,
                "split_conditions": t.conditions, "default_left": t.defaultLeft, "base_weights": t.conditions,
                "parents": [2147483647] + Array(repeating: 0, count: max(0, t.left.count - 1)),
                "split_type": Array(repeating: 0, count: t.left.count),
                "tree_param": ["num_nodes": "\(t.left.count)", "num_feature": "5", "size_leaf_vector": "1"],
            ]
        }
        var learner: [String: Any] = [
            "objective": ["name": objective],
            "learner_model_param": ["base_score": baseScore, "num_class": "0", "num_feature": "5", "num_target": "1"],
            "gradient_booster": [
                "name": booster,
                "model": ["gbtree_model_param": ["num_parallel_tree": "1", "num_trees": "\(trees.count)"], "trees": treeObjects],
            ],
        ]
        if let featureNames { learner["feature_names"] = featureNames }
        return try! JSONSerialization.data(withJSONObject: ["learner": learner, "version": [2, 0, 3]])
    }
}

func features(mean: Double = 0, std: Double = 0, spread: Double = 0, intensity: Double = 0, imbalance: Double = 0) -> FeatureVector {
    FeatureVector(
        midpriceReturnMean: mean, midpriceReturnStd: std, bidAskSpread: spread, tradeIntensity: intensity,
        orderBookImbalance: imbalance, windowSize: 2, windowDuration: 1)
}

func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

@Suite("Model loading and scoring")
struct ModelLoadingTests {
    let stump = SyntheticModel.Tree.stump(feature: 1, threshold: 0.5, low: -1.25, high: 0.75)

    @Test("base_score as a plain number string")
    func plainBaseScore() throws {
        let model = try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump], baseScore: "5E-1"))
        #expect(model.treeCount == 1)
        #expect(model.probability(features(std: 0.1)) == sigmoid(-1.25))
        #expect(model.probability(features(std: 0.5)) == sigmoid(0.75))  // not < threshold: right
    }

    @Test("base_score as a bracketed list")
    func bracketedBaseScore() throws {
        let model = try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump], baseScore: "[2.016585E-1]"))
        #expect(model.baseScore == 0.2016585)
        let margin = Double(-logf(1 / Float(0.2016585) - 1) + Float(0.75))
        #expect(abs(model.probability(features(std: 0.9)) - sigmoid(margin)) < 1e-12)
        #expect(abs(model.probability(features(std: 0.9)) - sigmoid(log(0.2016585 / (1 - 0.2016585)) + 0.75)) < 1e-6)
    }

    @Test("leaves of all trees are summed")
    func sumsTrees() throws {
        let second = SyntheticModel.Tree.stump(feature: 0, threshold: 0, low: 0.5, high: -0.25)
        let model = try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump, second]))
        #expect(model.probability(features(mean: -1, std: 1)) == sigmoid(Double(Float(0.75) + Float(0.5))))
    }

    @Test("NaN inputs follow default_left")
    func defaultLeft() throws {
        let left = try XGBoostModel(jsonData: SyntheticModel.json(trees: [.stump(feature: 1, threshold: 0.5, low: -1, high: 1, defaultLeft: true)]))
        let right = try XGBoostModel(jsonData: SyntheticModel.json(trees: [.stump(feature: 1, threshold: 0.5, low: -1, high: 1, defaultLeft: false)]))
        #expect(left.probability(features(std: .nan)) == sigmoid(-1))
        #expect(right.probability(features(std: .nan)) == sigmoid(1))
    }

    @Test("inputs are compared as Float")
    func floatComparison() throws {
        // 0.1 as Float is slightly above 0.1 as Double: x (Double 0.1) → Float 0.1 is not < Float threshold.
        let model = try XGBoostModel(jsonData: SyntheticModel.json(trees: [.stump(feature: 1, threshold: Double(Float(0.1)), low: -1, high: 1)]))
        #expect(model.probability(features(std: 0.1)) == sigmoid(1))
    }

    @Test("feature_names map model features onto FeatureVector features")
    func featureNameMapping() throws {
        let data = SyntheticModel.json(
            trees: [.stump(feature: 1, threshold: 0.5, low: -1, high: 1)],
            featureNames: ["order_book_imbalance", "trade_intensity"])
        let model = try XGBoostModel(jsonData: data)
        #expect(model.probability(features(intensity: 0.1)) == sigmoid(-1))
        #expect(model.probability(features(intensity: 0.9)) == sigmoid(1))
        let unnamed = try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump], featureNames: nil))
        #expect(unnamed.probability(features(std: 0.1)) == sigmoid(-1.25))
    }

    @Test("unknown feature names are rejected")
    func unknownFeatureNames() {
        #expect(throws: ModelLoadError.unknownFeatureNames(["volume"])) {
            try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump], featureNames: ["midprice_return_std", "volume"]))
        }
    }

    @Test("unsupported objective is named in the error")
    func unsupportedObjective() {
        do {
            _ = try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump], objective: "reg:squarederror"))
            Issue.record("expected an error")
        } catch {
            #expect(error == .unsupportedObjective("reg:squarederror"))
            #expect(error.description.contains("reg:squarederror"))
        }
        #expect(throws: ModelLoadError.unsupportedBooster("gblinear")) {
            try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump], booster: "gblinear"))
        }
    }

    @Test("malformed trees are rejected with the tree index", arguments: [
        ("child out of range", SyntheticModel.Tree(left: [5, -1, -1], right: [2, -1, -1], splitIndices: [1, 0, 0], conditions: [0.5, 1, 2], defaultLeft: [0, 0, 0])),
        ("child not greater than parent", SyntheticModel.Tree(left: [0, -1, -1], right: [2, -1, -1], splitIndices: [1, 0, 0], conditions: [0.5, 1, 2], defaultLeft: [0, 0, 0])),
        ("split index too large", SyntheticModel.Tree(left: [1, -1, -1], right: [2, -1, -1], splitIndices: [7, 0, 0], conditions: [0.5, 1, 2], defaultLeft: [0, 0, 0])),
        ("array length mismatch", SyntheticModel.Tree(left: [1, -1, -1], right: [2, -1], splitIndices: [1, 0, 0], conditions: [0.5, 1, 2], defaultLeft: [0, 0, 0])),
    ])
    func malformedTree(_ name: String, _ tree: SyntheticModel.Tree) {
        do {
            _ = try XGBoostModel(jsonData: SyntheticModel.json(trees: [stump, tree]))
            Issue.record("expected an error for \(name)")
        } catch {
            guard case .malformedTree(let index, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(index == 1)
            #expect(!reason.isEmpty)
            #expect(error.description.contains("tree 1"))
        }
    }

    @Test("truncated or non-JSON model files are rejected")
    func truncatedJSON() {
        let data = SyntheticModel.json(trees: [stump])
        #expect(throws: ModelLoadError.self) { try XGBoostModel(jsonData: data.prefix(data.count / 2)) }
        do {
            _ = try XGBoostModel(jsonData: data.prefix(data.count / 2))
        } catch {
            guard case .invalidJSON = error else {
                Issue.record("unexpected error \(error)")
                return
            }
        }
        #expect(throws: ModelLoadError.self) { try XGBoostModel(jsonData: Data("[]".utf8)) }
    }

    @Test("ModelVariant parsing is case-insensitive and its error names the valid values")
    func variantParsing() throws {
        #expect(try ModelVariant(parsing: "ML") == .ml)
        #expect(try ModelVariant(parsing: " Baseline ") == .baseline)
        do {
            _ = try ModelVariant(parsing: "xgboost")
            Issue.record("expected an error")
        } catch {
            #expect(error == .unknownVariant("xgboost"))
            #expect(error.description.contains("\"ml\""))
            #expect(error.description.contains("\"baseline\""))
        }
    }
}

@Suite("LoadedModel identity")
struct LoadedModelTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fp-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("version defaults to sha256: plus 12 hex digits of the file")
    func shaVersion() throws {
        #expect(LoadedModel.contentVersion(of: Data("abc".utf8)) == "sha256:ba7816bf8f01")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.json")
        let data = SyntheticModel.json(trees: [.stump(feature: 1, threshold: 0.5, low: -1, high: 1)])
        try data.write(to: path)
        let loaded = try LoadedModel.load(variant: .ml, modelPath: path.path, baselinePath: "/nonexistent")
        #expect(loaded.version == LoadedModel.contentVersion(of: data))
        #expect(loaded.version.count == "sha256:".count + 12)
        #expect(loaded.version.dropFirst(7).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(loaded.path == path.path)
        #expect(loaded.threshold == 0.5)
        #expect(loaded.variant == .ml)
    }

    @Test("a sidecar <name>.meta.json names the version")
    func sidecarVersion() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.json")
        try SyntheticModel.json(trees: [.stump(feature: 1, threshold: 0.5, low: -1, high: 1)]).write(to: path)
        try Data(#"{"version": "xgb-2025-11-12"}"#.utf8).write(to: dir.appendingPathComponent("m.meta.json"))
        let loaded = try LoadedModel.load(variant: .ml, modelPath: path.path, baselinePath: "/nonexistent")
        #expect(loaded.version == "xgb-2025-11-12")
        #expect(LoadedModel.sidecarPath(for: "x/m.json") == "x/m.meta.json")

        try Data(#"{"v": 1}"#.utf8).write(to: dir.appendingPathComponent("m.meta.json"))
        #expect(throws: ModelLoadError.self) {
            try LoadedModel.load(variant: .ml, modelPath: path.path, baselinePath: "/nonexistent")
        }
    }

    @Test("the production model and baseline load; missing files report the system reason")
    func productionFiles() throws {
        let ml = try LoadedModel.load(variant: .ml, modelPath: TestPaths.modelFile.path, baselinePath: TestPaths.baselineFile.path)
        #expect(ml.version.hasPrefix("sha256:"))
        let baseline = try LoadedModel.load(variant: .baseline, modelPath: "/nonexistent", baselinePath: TestPaths.baselineFile.path)
        #expect(baseline.threshold == 2.0)
        #expect(baseline.path == TestPaths.baselineFile.path)
        do {
            _ = try LoadedModel.load(variant: .ml, modelPath: "/nonexistent/model.json", baselinePath: "")
            Issue.record("expected an error")
        } catch {
            guard case .unreadableFile(let path, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == "/nonexistent/model.json")
            #expect(reason.contains("No such file"))
        }
    }
}

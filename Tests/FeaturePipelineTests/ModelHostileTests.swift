import Foundation
import Testing

import FeaturePipeline

/// Builds XGBoost model JSON as text, so hostile values (strings where numbers belong, huge numbers,
/// malformed arrays) can be written exactly.
enum HostileModelText {
    /// A stump on feature 0 whose arrays are given verbatim.
    static func tree(
        left: String = "[1,-1,-1]", right: String = "[2,-1,-1]", split: String = "[0,0,0]",
        conditions: String = "[0.5,-1,1]", defaultLeft: String = "[0,0,0]", extra: String = ""
    ) -> String {
        #"{"left_children":\#(left),"right_children":\#(right),"split_indices":\#(split),"#
            + #""split_conditions":\#(conditions),"default_left":\#(defaultLeft)\#(extra)}"#
    }

    static func model(
        trees: [String] = [tree()],
        treesText: String? = nil,
        parameters: String = #""base_score":"5E-1""#,
        boosterParameters: String = #""num_parallel_tree":"1""#,
        learnerExtra: String = ""
    ) -> Data {
        let treeArray = treesText ?? "[" + trees.joined(separator: ",") + "]"
        let text = #"{"learner":{"objective":{"name":"binary:logistic"},"learner_model_param":{\#(parameters)},"#
            + #""gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{\#(boosterParameters)},"#
            + #""trees":\#(treeArray)}}\#(learnerExtra)}}"#
        return Data(text.utf8)
    }

    /// A valid tree that is a chain `depth` splits deep (node 2k splits, 2k+1 is a leaf, 2k+2 continues).
    static func chain(depth: Int) -> String {
        var left: [Int] = [], right: [Int] = [], split: [Int] = [], conditions: [Double] = [], defaults: [Int] = []
        for k in 0..<depth {
            left += [2 * k + 1, -1]
            right += [2 * k + 2, -1]
            split += [k % 5, 0]
            conditions += [Double(k), 0.001]
            defaults += [0, 0]
        }
        left.append(-1); right.append(-1); split.append(0); conditions.append(0.5); defaults.append(0)
        func list<T>(_ values: [T]) -> String { "[" + values.map { "\($0)" }.joined(separator: ",") + "]" }
        return tree(
            left: list(left), right: list(right), split: list(split), conditions: list(conditions),
            defaultLeft: list(defaults))
    }
}

/// Loads `data`, expecting a ``ModelLoadError`` with a non-empty description; returns it.
@discardableResult
func expectLoadError(_ data: Data, _ comment: Comment? = nil) -> ModelLoadError? {
    do {
        let model = try XGBoostModel(jsonData: data)
        Issue.record("expected a ModelLoadError, loaded \(model.treeCount) trees. \(comment.map { "\($0)" } ?? "")")
        return nil
    } catch {
        #expect(!error.description.isEmpty)
        return error
    }
}

@Suite("Model files with hostile values")
struct ModelHostileTests {
    let zero = FeatureVector(
        midpriceReturnMean: 0, midpriceReturnStd: 0, bidAskSpread: 0, tradeIntensity: 0, orderBookImbalance: 0,
        windowSize: 2, windowDuration: 1)

    @Test("the synthetic base model loads (the hostile variants below differ in one place)")
    func baseModelLoads() throws {
        let model = try XGBoostModel(jsonData: HostileModelText.model())
        #expect(model.treeCount == 1)
        #expect(abs(model.probability(self.zero) - 1 / (1 + exp(1.0))) < 1e-6)  // 0 < 0.5 → leaf −1
    }

    @Test("the production model truncated anywhere is invalid JSON", arguments: [0, 1, 2, 100, 5000, 141_000, 283_000, -1])
    func truncatedProductionModel(_ cut: Int) throws {
        let data = try Data(contentsOf: TestPaths.modelFile)
        let prefix = data.prefix(cut >= 0 ? cut : data.count - 1)
        guard case .invalidJSON = expectLoadError(Data(prefix)) else {
            Issue.record("expected invalidJSON")
            return
        }
    }

    @Test("cyclic and out-of-range child indices are malformed trees", arguments: [
        ("self loop", "[0,-1,-1]", "[2,-1,-1]"),
        ("back edge to the root", "[1,0,-1]", "[2,2,-1]"),
        ("child past the end", "[1,-1,-1]", "[3,-1,-1]"),
        ("negative child other than -1", "[-2,-1,-1]", "[2,-1,-1]"),
        ("child 2^40", "[1099511627776,-1,-1]", "[2,-1,-1]"),
        ("child beyond Int range", "[1e300,-1,-1]", "[2,-1,-1]"),
        ("fractional child", "[1.5,-1,-1]", "[2,-1,-1]"),
        ("string child", #"["1",-1,-1]"#, "[2,-1,-1]"),
    ])
    func childIndices(_ name: String, _ left: String, _ right: String) {
        let error = expectLoadError(HostileModelText.model(trees: [HostileModelText.tree(left: left, right: right)]), "\(name)")
        guard case .malformedTree(0, _) = error else {
            Issue.record("\(name): expected malformedTree(0, …), got \(String(describing: error))")
            return
        }
    }

    @Test("a model claiming 10^6 trees is too large, quickly (no per-tree work)")
    func millionTrees() {
        let trees = "[" + [String](repeating: "{}", count: 1_000_000).joined(separator: ",") + "]"
        let error = expectLoadError(HostileModelText.model(treesText: trees))
        #expect(error == .tooLarge(reason: "1000000 trees, limit 100000"))
    }

    @Test("100,001 real trees exceed the tree cap")
    func treeCapPlusOne() {
        let leaf = HostileModelText.tree(left: "[-1]", right: "[-1]", split: "[0]", conditions: "[0.1]", defaultLeft: "[0]")
        let error = expectLoadError(HostileModelText.model(trees: [String](repeating: leaf, count: 100_001)))
        #expect(error == .tooLarge(reason: "100001 trees, limit 100000"))
    }

    @Test("NaN thresholds and non-numeric leaves are rejected", arguments: [
        ("NaN literal threshold", "[NaN,-1,1]"),
        ("NaN string threshold", #"["NaN",-1,1]"#),
        ("Infinity literal leaf", "[0.5,Infinity,1]"),
        ("1e999 leaf", "[0.5,1e999,1]"),
        ("null threshold", "[null,-1,1]"),
        ("object leaf", #"[0.5,{},1]"#),
    ])
    func nonFiniteValues(_ name: String, _ conditions: String) {
        expectLoadError(HostileModelText.model(trees: [HostileModelText.tree(conditions: conditions)]), "\(name)")
    }

    @Test("wrong array lengths are malformed trees", arguments: [
        ("short right_children", HostileModelText.tree(right: "[2,-1]")),
        ("long split_conditions", HostileModelText.tree(conditions: "[0.5,-1,1,7]")),
        ("short default_left", HostileModelText.tree(defaultLeft: "[0]")),
        ("short split_indices", HostileModelText.tree(split: "[0,0]")),
        ("all empty", HostileModelText.tree(left: "[]", right: "[]", split: "[]", conditions: "[]", defaultLeft: "[]")),
        ("num_nodes disagrees", HostileModelText.tree(extra: #","tree_param":{"num_nodes":"4"}"#)),
        ("left_children not an array", HostileModelText.tree(left: #""1,-1,-1""#)),
        ("missing split_conditions", #"{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],"default_left":[0,0,0]}"#),
    ])
    func arrayLengths(_ name: String, _ tree: String) {
        let error = expectLoadError(HostileModelText.model(trees: [tree]), "\(name)")
        guard case .malformedTree(0, _) = error else {
            Issue.record("\(name): expected malformedTree(0, …), got \(String(describing: error))")
            return
        }
    }

    @Test("split feature indices outside the model's features are rejected", arguments: ["[5,0,0]", "[-1,0,0]", "[4294967296,0,0]"])
    func splitIndices(_ split: String) {
        expectLoadError(HostileModelText.model(trees: [HostileModelText.tree(split: split)]))
    }

    @Test("a 20,000-deep chain tree loads and scores (iterative, no recursion)")
    func deepChainTree() throws {
        let model = try XGBoostModel(jsonData: HostileModelText.model(trees: [HostileModelText.chain(depth: 20_000)]))
        #expect(model.treeCount == 1)
        // All features 0: the root's threshold is 0, so 0 < 0 is false → right → next split (threshold 1) → left leaf.
        let p = model.probability(self.zero)
        #expect(p.isFinite && p > 0 && p < 1)
    }

    @Test("deeply nested JSON in a model file is rejected, not a stack overflow", arguments: [600, 100_000])
    func deepNesting(_ depth: Int) {
        let text = #"{"learner":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        guard case .invalidJSON = expectLoadError(Data(text.utf8)) else {
            Issue.record("expected invalidJSON")
            return
        }
    }

    @Test("structural type confusion is rejected", arguments: [
        ("top-level array", "[]"),
        ("top-level string", #""model""#),
        ("learner is an array", #"{"learner":[]}"#),
        ("trees is an object", String(decoding: HostileModelText.model(treesText: "{}"), as: UTF8.self)),
        ("tree is a number", String(decoding: HostileModelText.model(treesText: "[1]"), as: UTF8.self)),
        ("booster is a string", #"{"learner":{"objective":{"name":"binary:logistic"},"gradient_booster":"gbtree"}}"#),
        ("objective missing", #"{"learner":{"gradient_booster":{}}}"#),
        ("base_score NaN", String(decoding: HostileModelText.model(parameters: #""base_score":"nan""#), as: UTF8.self)),
        ("base_score 1", String(decoding: HostileModelText.model(parameters: #""base_score":"1""#), as: UTF8.self)),
        ("num_feature 6 without names", String(decoding: HostileModelText.model(parameters: #""num_feature":"6""#), as: UTF8.self)),
        ("binary garbage", String(decoding: [0xFF, 0x00, 0xFE, 0x7B], as: UTF8.self)),
    ])
    func typeConfusion(_ name: String, _ text: String) {
        expectLoadError(Data(text.utf8), "\(name)")
    }

    @Test("thousands of unknown feature names are one error")
    func manyUnknownFeatureNames() {
        let names = "[" + (0..<2_000).map { #""f\#($0)""# }.joined(separator: ",") + "]"
        let error = expectLoadError(HostileModelText.model(learnerExtra: #","feature_names":\#(names)"#))
        guard case .unknownFeatureNames(let unknown) = error else {
            Issue.record("expected unknownFeatureNames, got \(String(describing: error))")
            return
        }
        #expect(unknown.count == 2_000)
    }

    @Test("LoadedModel.load reports unusable paths with the reason")
    func hostilePaths() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-model-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.json")
        try Data().write(to: empty)
        let badSidecarModel = directory.appendingPathComponent("m.json")
        try HostileModelText.model().write(to: badSidecarModel)
        try Data("[1]".utf8).write(to: directory.appendingPathComponent("m.meta.json"))
        for (path, check) in [
            (directory.path, "not a regular file"),
            ("/dev/zero", "not a regular file"),
            (empty.path, "is not a valid model"),
            (badSidecarModel.path, "sidecar"),
        ] {
            do {
                _ = try LoadedModel.load(variant: .ml, modelPath: path, baselinePath: "unused")
                Issue.record("expected an error for \(path)")
            } catch {
                #expect(error.description.contains(check), "\(error)")
            }
        }
    }
}

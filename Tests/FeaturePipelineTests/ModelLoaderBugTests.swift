import Foundation
import Testing

import FeaturePipeline

/// Regression tests for defects in `XGBoostModel(jsonData:)` that the hostile-value tests found (and that are
/// fixed): traps on NaN/huge parameters, leaves and base scores that do not survive conversion to Float, trees
/// that share children.
@Suite("Model loader hostile values (fixed defects)")
struct ModelLoaderBugTests {
    /// Model-parameter numbers that `XGBoostModel` converts with `Int(_: Double)`, which traps on NaN,
    /// infinities and magnitudes ≥ 2^63 (the process dies with "Double value cannot be converted to Int").
    static let trappingParameters: [String] = [
        #"{"learner":{"objective":{"name":"binary:logistic"},"learner_model_param":{"num_class":"1e300"},"gradient_booster":{"name":"gbtree","model":{"trees":[]}}}}"#,
        #"{"learner":{"objective":{"name":"binary:logistic"},"learner_model_param":{"num_target":1e300},"gradient_booster":{"name":"gbtree","model":{"trees":[]}}}}"#,
        #"{"learner":{"objective":{"name":"binary:logistic"},"learner_model_param":{"num_feature":"nan"},"gradient_booster":{"name":"gbtree","model":{"trees":[]}}}}"#,
        #"{"learner":{"objective":{"name":"binary:logistic"},"learner_model_param":{"num_feature":-1e19},"gradient_booster":{"name":"gbtree","model":{"trees":[]}}}}"#,
        #"{"learner":{"objective":{"name":"binary:logistic"},"gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_parallel_tree":"inf"},"trees":[]}}}}"#,
        #"{"learner":{"objective":{"name":"binary:logistic"},"gradient_booster":{"name":"gbtree","model":{"trees":[{"left_children":[-1],"right_children":[-1],"split_indices":[0],"split_conditions":[1],"default_left":[0],"tree_param":{"num_nodes":"1e300"}}]}}}}"#,
    ]

    @Test("huge or NaN model parameters give a ModelLoadError, not a trap", arguments: trappingParameters.indices)
    func trappingParameter(_ index: Int) async {
        await #expect(processExitsWith: .success) { [index] in
            let text = ModelLoaderBugTests.trappingParameters[index]
            do {
                _ = try XGBoostModel(jsonData: Data(text.utf8))
            } catch {
                return  // a ModelLoadError is the correct outcome
            }
        }
    }

    @Test("a leaf value that overflows Float is rejected, not scored as ±infinity")
    func leafOverflowsFloat() {
        let tree = HostileModelText.tree(conditions: "[0.5,1e300,-1e300]")
        expectLoadError(HostileModelText.model(trees: [tree, tree]))
    }

    @Test("a base_score that underflows Float is rejected, not a constant probability 0")
    func baseScoreUnderflowsFloat() {
        expectLoadError(HostileModelText.model(parameters: #""base_score":"1e-300""#))
    }

    /// A "tree" whose splits all lead to the same next node (a DAG): node i < n has both children i + 1.
    /// It passes the index checks (children in range and greater than the parent), but any recursive walk of
    /// it makes 2^n calls (an earlier `CompleteTrees.init` draft hung on a 600-byte file with n = 40).
    static func dagTree(_ n: Int) -> String {
        let children = "[" + ((1...n).map(String.init) + ["-1"]).joined(separator: ",") + "]"
        let zeros = "[" + Array(repeating: "0", count: n + 1).joined(separator: ",") + "]"
        return HostileModelText.tree(
            left: children, right: children, split: zeros,
            conditions: "[" + Array(repeating: "0.5", count: n + 1).joined(separator: ",") + "]", defaultLeft: zeros)
    }

    @Test("a tree whose nodes share a child (a DAG, not a tree) is rejected")
    func sharedChildren() {
        let error = expectLoadError(HostileModelText.model(trees: [Self.dagTree(12)]))
        guard case .malformedTree(0, _) = error else {
            Issue.record("expected malformedTree(0, …), got \(String(describing: error))")
            return
        }
    }

    /// Regression guard: an earlier draft computed tree depth recursively and
    /// crashed (stack overflow) at chain depth ~60k on an 8 MB stack.
    @Test("a 100,000-deep chain tree loads without overflowing the stack")
    func deepChainDoesNotOverflowTheStack() async {
        await #expect(processExitsWith: .success) {
            let data = HostileModelText.model(trees: [HostileModelText.chain(depth: 100_000)])
            do {
                _ = try XGBoostModel(jsonData: data)
            } catch {
                return  // an error is acceptable; a crash is not
            }
        }
    }
}

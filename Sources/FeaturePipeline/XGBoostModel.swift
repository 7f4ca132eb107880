import Foundation

/// A binary-classification XGBoost tree ensemble (`binary:logistic`, `gbtree`) loaded from XGBoost's JSON
/// model format (`Booster.save_model("*.json")`), scored exactly as XGBoost does.
///
/// Scoring rules (matching XGBoost's CPU predictor): inputs are converted to `Float`; at a split go left when
/// `x < threshold`, right otherwise, and follow `default_left` when `x` is NaN; the margin is
/// `logit(base_score)` plus the leaves reached in every tree, accumulated in `Float` in tree order; the
/// probability is `1 / (1 + exp(−margin))`.
///
/// All trees live in one contiguous node array (children as absolute indices), so scoring touches no heap
/// memory besides that array and allocates nothing.
public struct XGBoostModel: Sendable {
    /// Safety cap on the number of trees accepted from a file.
    public static let maximumTreeCount = 100_000
    /// Safety cap on the total number of nodes accepted from a file.
    public static let maximumNodeCount = 10_000_000

    /// One node of the flattened ensemble. Leaves have `left == -1` and keep their value in `value`.
    struct Node: Sendable {
        var left: Int32
        var right: Int32
        /// The child taken when the feature value is missing (NaN).
        var missing: Int32
        /// Index into the model-order input vector (``FeatureVector`` order, already remapped).
        var feature: Int32
        /// Split threshold, or the leaf value for leaves.
        var value: Float
    }

    /// Internal (not private) for the tests that walk the trees one at a time as a reference.
    let nodes: [Node]
    let roots: [Int32]

    /// The same trees as scored: 8-byte nodes, each split's children side by side (right = left + 1), a tree's
    /// nodes in breadth-first order. 2,572 nodes take 20 KiB instead of 50: the walk stays in L1 while the stream
    /// touches thousands of products' state between two predictions (20-byte nodes cost ~2× in the stream what
    /// they cost in isolation, `perf`, docs/PERFORMANCE.md session 11).
    let packed: [PackedNode]
    let packedRoots: [UInt32]

    /// A node of ``packed``: `value` is the split threshold or the leaf value; `link` holds the left child's index
    /// (bits 0–23; the node cap is below 2^24), the feature (bits 24–26), "missing goes left" (bit 28) and "leaf"
    /// (bit 31).
    struct PackedNode: Sendable {
        var value: Float
        var link: UInt32

        static let leaf: UInt32 = 1 << 31
        static let missingGoesLeft: UInt32 = 1 << 28
        static let childMask: UInt32 = 0xFF_FFFF
    }
    /// `logit(base_score)` as XGBoost computes it (in `Float`).
    let baseMargin: Float
    /// The base score (a probability) read from the model.
    public let baseScore: Double

    /// Number of trees in the ensemble.
    public var treeCount: Int { self.roots.count }

    /// Parses and validates a model.
    ///
    /// `learner.feature_names`, when present, must name features of ``FeatureVector/names`` (any order, any
    /// subset, no duplicates); without it the model's feature `i` is ``FeatureVector`` feature `i`.
    /// - Throws: ``ModelLoadError`` naming what is wrong (objective, booster, a tree's index and defect, caps,
    ///   unknown feature names, JSON syntax).
    public init(jsonData: Data) throws(ModelLoadError) {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: jsonData) as? [String: Any] else {
                throw ModelLoadError.invalidJSON(path: nil, reason: "top level is not a JSON object")
            }
            root = object
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw .invalidJSON(path: nil, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let learner = root["learner"] as? [String: Any] else {
            throw .invalidJSON(path: nil, reason: "missing object 'learner' (not an XGBoost JSON model?)")
        }

        let objective = (learner["objective"] as? [String: Any])?["name"] as? String
        guard objective == "binary:logistic" else { throw .unsupportedObjective(objective ?? "<missing>") }

        let parameters = learner["learner_model_param"] as? [String: Any] ?? [:]
        let baseScore = JSONValues.lenientNumber(parameters["base_score"]) ?? 0.5
        // Checked in Float too: XGBoost computes the base margin in Float, where 1e-300 is 0 (margin -inf).
        guard baseScore > 0, baseScore < 1, Float(baseScore) > 0, Float(baseScore) < 1 else {
            throw .invalidJSON(path: nil, reason: "base_score \(baseScore) is not a probability in (0, 1)")
        }
        if let classes = JSONValues.lenientNumber(parameters["num_class"]), classes > 1 {
            throw .unsupportedObjective("binary:logistic with num_class \(Self.describe(classes))")
        }
        if let targets = JSONValues.lenientNumber(parameters["num_target"]), targets > 1 {
            throw .unsupportedBooster("multi-target model (num_target \(Self.describe(targets)))")
        }

        guard let booster = learner["gradient_booster"] as? [String: Any] else {
            throw .invalidJSON(path: nil, reason: "missing object 'learner.gradient_booster'")
        }
        let boosterName = booster["name"] as? String ?? "<missing>"
        guard boosterName == "gbtree" else { throw .unsupportedBooster(boosterName) }
        guard let model = booster["model"] as? [String: Any], let trees = model["trees"] as? [Any] else {
            throw .invalidJSON(path: nil, reason: "missing array 'learner.gradient_booster.model.trees'")
        }
        guard trees.count <= Self.maximumTreeCount else {
            throw .tooLarge(reason: "\(trees.count) trees, limit \(Self.maximumTreeCount)")
        }
        if let parallel = JSONValues.lenientNumber(
            (model["gbtree_model_param"] as? [String: Any])?["num_parallel_tree"]), parallel > 1
        {
            throw .unsupportedBooster("random forest (num_parallel_tree \(Self.describe(parallel)))")
        }

        let featureMap = try Self.featureMap(learner: learner, parameters: parameters)

        var nodes: [Node] = []
        var roots: [Int32] = []
        roots.reserveCapacity(trees.count)
        for (index, tree) in trees.enumerated() {
            guard let tree = tree as? [String: Any] else {
                throw .malformedTree(index: index, reason: "tree is not a JSON object")
            }
            roots.append(Int32(nodes.count))
            try Self.appendTree(tree, index: index, featureMap: featureMap, to: &nodes)
        }

        self.nodes = nodes
        self.roots = roots
        (self.packed, self.packedRoots) = Self.pack(nodes, roots: roots)
        self.baseScore = baseScore
        // XGBoost's ProbToMargin for logistic: -log(1/p - 1), in float.
        let p = Float(baseScore)
        self.baseMargin = -logf(1 / p - 1)
    }

    /// A number for an error message: as an integer when it is one (and fits), else as Swift writes it
    /// (`nan`, `inf`, `1e+300`). Never traps, unlike `Int(_: Double)`.
    private static func describe(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 9.0e15 { return String(Int(value)) }
        return String(value)
    }

    /// Maps model feature positions to ``FeatureVector`` indices.
    private static func featureMap(learner: [String: Any], parameters: [String: Any]) throws(ModelLoadError) -> [Int32] {
        if let names = learner["feature_names"] as? [String], !names.isEmpty {
            var map: [Int32] = []
            var unknown: [String] = []
            var seen = Set<String>()
            for name in names {
                if let i = FeatureVector.names.firstIndex(of: name), seen.insert(name).inserted {
                    map.append(Int32(i))
                } else {
                    unknown.append(seen.contains(name) ? "\(name) (duplicate)" : name)
                }
            }
            guard unknown.isEmpty else { throw .unknownFeatureNames(unknown) }
            return map
        }
        let declared = JSONValues.lenientNumber(parameters["num_feature"]) ?? Double(FeatureVector.count)
        guard declared >= 0, declared <= Double(FeatureVector.count), declared.rounded() == declared else {
            throw .invalidJSON(
                path: nil,
                reason: "model has \(Self.describe(declared)) features and no feature_names; at most \(FeatureVector.count) "
                    + "(in the order \(FeatureVector.names.joined(separator: ", "))) are supported")
        }
        return (0..<Int(declared)).map { Int32($0) }
    }

    private static func appendTree(
        _ tree: [String: Any],
        index: Int,
        featureMap: [Int32],
        to nodes: inout [Node]
    ) throws(ModelLoadError) {
        func ints(_ key: String) throws(ModelLoadError) -> [Int] {
            guard let values = JSONValues.integers(tree[key]) else {
                throw .malformedTree(index: index, reason: "missing or non-integer array '\(key)'")
            }
            return values
        }
        let left = try ints("left_children")
        let right = try ints("right_children")
        let splitIndices = try ints("split_indices")
        let defaultLeft = try ints("default_left")
        guard let conditions = JSONValues.doubles(tree["split_conditions"]) else {
            throw .malformedTree(index: index, reason: "missing or non-numeric array 'split_conditions'")
        }
        let count = left.count
        guard count > 0 else { throw .malformedTree(index: index, reason: "tree has no nodes") }
        guard right.count == count, splitIndices.count == count, defaultLeft.count == count,
            conditions.count == count
        else {
            throw .malformedTree(
                index: index,
                reason: "array length mismatch: left_children \(count), right_children \(right.count), "
                    + "split_indices \(splitIndices.count), split_conditions \(conditions.count), "
                    + "default_left \(defaultLeft.count)")
        }
        if let declared = JSONValues.lenientNumber((tree["tree_param"] as? [String: Any])?["num_nodes"]),
            declared != Double(count)
        {
            throw .malformedTree(
                index: index, reason: "tree_param.num_nodes is \(Self.describe(declared)) but arrays have \(count) nodes")
        }
        if let splitTypes = JSONValues.integers(tree["split_type"]), splitTypes.contains(where: { $0 != 0 }) {
            throw .unsupportedBooster("categorical splits (tree \(index))")
        }
        guard nodes.count + count <= XGBoostModel.maximumNodeCount else {
            throw .tooLarge(reason: "more than \(XGBoostModel.maximumNodeCount) nodes in total")
        }

        let offset = nodes.count
        nodes.reserveCapacity(offset + count)
        // Each node has at most one parent: a node reached from two splits would make the "tree" a DAG, whose
        // paths grow exponentially with its depth.
        var hasParent = [Bool](repeating: false, count: count)
        for n in 0..<count {
            if left[n] == -1 {
                guard Float(conditions[n]).isFinite else {
                    throw .malformedTree(index: index, reason: "leaf \(n) has a non-finite value")
                }
                nodes.append(Node(left: -1, right: -1, missing: -1, feature: 0, value: Float(conditions[n])))
                continue
            }
            for child in [left[n], right[n]] where child <= n || child >= count || hasParent[child] || left[n] == right[n] {
                throw .malformedTree(
                    index: index,
                    reason: "node \(n) has child index \(child), which is out of range (0..<\(count)), not "
                        + "greater than its parent (a cycle), or shared with another split (not a tree)")
            }
            hasParent[left[n]] = true
            hasParent[right[n]] = true
            guard splitIndices[n] >= 0, splitIndices[n] < featureMap.count else {
                throw .malformedTree(
                    index: index,
                    reason: "node \(n) splits on feature index \(splitIndices[n]), but the feature count is "
                        + "\(featureMap.count)")
            }
            guard !conditions[n].isNaN else {
                throw .malformedTree(index: index, reason: "node \(n) has a NaN split threshold")
            }
            let l = Int32(offset + left[n])
            let r = Int32(offset + right[n])
            nodes.append(
                Node(
                    left: l, right: r, missing: defaultLeft[n] != 0 ? l : r,
                    feature: featureMap[splitIndices[n]], value: Float(conditions[n])))
        }
    }

    /// Lays the validated trees out as ``packed``: breadth-first per tree, so that a split's two children take
    /// consecutive slots.
    private static func pack(_ nodes: [Node], roots: [Int32]) -> ([PackedNode], [UInt32]) {
        var packed: [PackedNode] = []
        packed.reserveCapacity(nodes.count)
        var packedRoots: [UInt32] = []
        packedRoots.reserveCapacity(roots.count)
        var queue: [(old: Int, new: Int)] = []
        for root in roots {
            packedRoots.append(UInt32(packed.count))
            queue.removeAll(keepingCapacity: true)
            queue.append((Int(root), packed.count))
            packed.append(PackedNode(value: 0, link: 0))
            var head = 0
            while head < queue.count {
                let (old, new) = queue[head]
                head += 1
                let node = nodes[old]
                if node.left < 0 {
                    packed[new] = PackedNode(value: node.value, link: PackedNode.leaf)
                    continue
                }
                let left = packed.count
                packed.append(PackedNode(value: 0, link: 0))
                packed.append(PackedNode(value: 0, link: 0))
                queue.append((Int(node.left), left))
                queue.append((Int(node.right), left + 1))
                packed[new] = PackedNode(
                    value: node.value,
                    link: UInt32(left) | UInt32(node.feature & 7) << 24 | (node.missing == node.left ? PackedNode.missingGoesLeft : 0))
            }
        }
        return (packed, packedRoots)
    }

    /// The spike probability for one feature vector. Allocation-free.
    public func probability(_ features: FeatureVector) -> Double {
        let x = SIMD8<Float>(
            Float(features.midpriceReturnMean), Float(features.midpriceReturnStd), Float(features.bidAskSpread),
            Float(features.tradeIntensity), Float(features.orderBookImbalance), .nan, .nan, .nan)
        var margin = self.baseMargin
        self.packed.withUnsafeBufferPointer { nodes in
            self.packedRoots.withUnsafeBufferPointer { roots in
                for root in roots {
                    var i = Int(root)
                    while true {
                        let node = nodes[i]
                        let link = node.link
                        if link >= PackedNode.leaf {
                            margin += node.value
                            break
                        }
                        let value = x[Int(link &>> 24) & 7]
                        let left = Int(link & PackedNode.childMask)
                        // Branches, not a select: consecutive records' features are close, so they predict well
                        // (a select measured ~30 % slower, the 20-byte walk ~15 % slower than this).
                        if value < node.value {
                            i = left
                        } else if value >= node.value {
                            i = left &+ 1
                        } else {  // NaN: the default direction
                            i = link & PackedNode.missingGoesLeft != 0 ? left : left &+ 1
                        }
                    }
                }
            }
        }
        return 1 / (1 + exp(-Double(margin)))
    }
}

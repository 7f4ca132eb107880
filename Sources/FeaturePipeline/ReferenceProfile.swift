import Foundation

/// A binned reference distribution: `k` finite, strictly increasing edges and `k + 1` proportions.
///
/// Bin 0 holds `v < edges[0]`, bin `j` holds `edges[j-1] ≤ v < edges[j]`, bin `k` holds `v ≥ edges[k-1]`
/// (the issue's b₁…b_k numbering, zero-based here).
public struct BinnedDistribution: Sendable, Equatable, Codable {
    /// Bin boundaries, finite and strictly increasing.
    public let edges: [Double]
    /// Share of the reference data in each bin (`edges.count + 1` values in [0, 1]).
    public let proportions: [Double]

    /// Creates a distribution without checking it (``ReferenceProfile/validate()`` checks loaded files).
    public init(edges: [Double], proportions: [Double]) {
        self.edges = edges
        self.proportions = proportions
    }

    /// Most edges per distribution (PSI needs tens of bins, not thousands).
    public static let maxEdges = 1000

    /// Number of bins (`edges.count + 1`).
    public var binCount: Int { self.edges.count + 1 }

    /// The bin of a finite value: the number of edges ≤ `value` (binary search, no allocation).
    @inline(__always)
    public func bin(of value: Double) -> Int {
        var low = 0
        var high = self.edges.count
        while low < high {
            let middle = (low + high) >> 1
            if self.edges[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Builds a distribution from sample values: edges at the `binCount − 1` inner quantiles of the finite
    /// values, each midway below its quantile value (duplicates removed, so heavily tied data gets fewer bins),
    /// proportions counted with ``bin(of:)`` — as `training/features.py` does.
    /// Returns `nil` when fewer than two distinct finite values exist.
    public static func fromSample(_ values: [Double], binCount: Int = 10) -> BinnedDistribution? {
        let sorted = values.filter(\.isFinite).sorted()
        guard sorted.count >= 2, sorted.first! < sorted.last! else { return nil }
        var edges: [Double] = []
        for i in 1..<max(2, binCount) {
            let upper = sorted[min(sorted.count - 1, (i * sorted.count) / binCount)]
            // The next smaller distinct value (binary search), and the edge midway: values computed with
            // slightly different rounding (float32 in XGBoost's Python API) fall in the same bin.
            var low = 0
            var high = sorted.count
            while low < high {
                let middle = (low + high) >> 1
                if sorted[middle] < upper { low = middle + 1 } else { high = middle }
            }
            guard low > 0 else { continue }
            let lower = sorted[low - 1]
            let edge = lower + (upper - lower) / 2
            if edges.last.map({ edge > $0 }) ?? true { edges.append(edge) }
        }
        var counts = [Int](repeating: 0, count: edges.count + 1)
        let distribution = BinnedDistribution(edges: edges, proportions: [])
        for value in sorted { counts[distribution.bin(of: value)] += 1 }
        return BinnedDistribution(edges: edges, proportions: counts.map { Double($0) / Double(sorted.count) })
    }

    func validate(_ name: String) throws(ReferenceProfileError) {
        guard !self.edges.isEmpty else { throw .invalid(field: name, reason: "no edges") }
        guard self.edges.count <= Self.maxEdges else {
            throw .invalid(field: name, reason: "\(self.edges.count) edges, at most \(Self.maxEdges)")
        }
        for (i, edge) in self.edges.enumerated() {
            guard edge.isFinite else { throw .invalid(field: name, reason: "edge \(i) is not finite") }
            if i > 0, !(self.edges[i - 1] < edge) {
                throw .invalid(field: name, reason: "edges are not strictly increasing at index \(i)")
            }
        }
        guard self.proportions.count == self.edges.count + 1 else {
            throw .invalid(
                field: name,
                reason: "\(self.proportions.count) proportions for \(self.edges.count) edges (need edges + 1)")
        }
        for (i, q) in self.proportions.enumerated() where !(q.isFinite && q >= 0 && q <= 1) {
            throw .invalid(field: name, reason: "proportion \(i) is not a number in [0, 1]")
        }
        let sum = self.proportions.reduce(0, +)
        guard abs(sum - 1) <= 1e-6 else { throw .invalid(field: name, reason: "proportions sum to \(sum), not 1") }
    }
}

/// Why a model's reference file could not be used. Each message says what to fix.
public enum ReferenceProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not JSON of the documented shape.
    case malformed(path: String?, reason: String)
    /// A field violates the format's rules.
    case invalid(field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read reference file '\(path)': \(reason)"
        case .malformed(let path, let reason):
            return "reference file\(path.map { " '\($0)'" } ?? "") is not a valid reference profile: \(reason)"
        case .invalid(let field, let reason):
            return "reference profile field '\(field)' is invalid: \(reason) (rebuild it with training/train.py)"
        }
    }
}

/// The training-time distribution a model is monitored against: the model's `.reference.json`, next to the
/// model file as its `.meta.json` sidecar is (`x/m.json` → `x/m.reference.json`).
///
/// ```json
/// {"features": {"NAME": {"edges": [...], "proportions": [...]}, ...},
///  "probability": {"edges": [...], "proportions": [...]},
///  "positive_rate": r, "label_threshold": τ, "label_horizon_seconds": H}
/// ```
/// `positive_rate` is the model's *predicted* positive rate on its training data.
public struct ReferenceProfile: Sendable, Equatable {
    /// One distribution per model feature, in ``FeatureVector/names`` order.
    public let features: [BinnedDistribution]
    /// The distribution of the model's probability.
    public let probability: BinnedDistribution
    /// Predicted positive rate on the training data.
    public let positiveRate: Double
    /// τ: realised volatility at or above which the realised label is 1.
    public let labelThreshold: Double
    /// H: the label horizon in seconds.
    public let labelHorizonSeconds: Double

    /// Creates a profile; call ``validate()`` before trusting hand-made values.
    public init(
        features: [BinnedDistribution], probability: BinnedDistribution, positiveRate: Double,
        labelThreshold: Double, labelHorizonSeconds: Double
    ) {
        self.features = features
        self.probability = probability
        self.positiveRate = positiveRate
        self.labelThreshold = labelThreshold
        self.labelHorizonSeconds = labelHorizonSeconds
    }

    /// The reference path of a model file: `x/m.json` → `x/m.reference.json`; other names get
    /// `.reference.json` appended.
    public static func path(forModel path: String) -> String {
        if path.hasSuffix(".json") { return String(path.dropLast(5)) + ".reference.json" }
        return path + ".reference.json"
    }

    /// Loads and validates the reference next to `modelPath`; `nil` when there is none.
    public static func load(besideModel modelPath: String) throws(ReferenceProfileError) -> ReferenceProfile? {
        let path = self.path(forModel: modelPath)
        guard FileReading.exists(path) else { return nil }
        return try self.load(path: path)
    }

    /// Loads and validates a reference file.
    public static func load(path: String) throws(ReferenceProfileError) -> ReferenceProfile {
        let data: Data
        do {
            data = try FileReading.contents(of: path)
        } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        do {
            return try ReferenceProfile(jsonData: data)
        } catch {
            if case .malformed(nil, let reason) = error { throw .malformed(path: path, reason: reason) }
            throw error
        }
    }

    private struct Wire: Codable {
        var features: [String: BinnedDistribution]
        var probability: BinnedDistribution
        var positive_rate: Double
        var label_threshold: Double
        var label_horizon_seconds: Double
    }

    /// Parses and validates reference JSON.
    public init(jsonData: Data) throws(ReferenceProfileError) {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: jsonData)
        } catch {
            throw .malformed(path: nil, reason: Self.describe(error))
        }
        let unknown = Set(wire.features.keys).subtracting(FeatureVector.names)
        guard unknown.isEmpty else {
            throw .invalid(field: "features", reason: "unknown feature names \(unknown.sorted())")
        }
        var features: [BinnedDistribution] = []
        for name in FeatureVector.names {
            guard let distribution = wire.features[name] else {
                throw .invalid(field: "features", reason: "missing feature '\(name)'")
            }
            features.append(distribution)
        }
        self.init(
            features: features, probability: wire.probability, positiveRate: wire.positive_rate,
            labelThreshold: wire.label_threshold, labelHorizonSeconds: wire.label_horizon_seconds)
        try self.validate()
    }

    /// Checks every rule of the format: finite, strictly increasing edges; `edges + 1` proportions in
    /// [0, 1] summing to 1; a positive rate in [0, 1]; a finite τ ≥ 0 and a finite H > 0.
    public func validate() throws(ReferenceProfileError) {
        guard self.features.count == FeatureVector.count else {
            throw .invalid(field: "features", reason: "\(self.features.count) features, need \(FeatureVector.count)")
        }
        for (i, distribution) in self.features.enumerated() {
            try distribution.validate("features.\(FeatureVector.names[i])")
        }
        try self.probability.validate("probability")
        guard self.positiveRate.isFinite, (0...1).contains(self.positiveRate) else {
            throw .invalid(field: "positive_rate", reason: "\(self.positiveRate) is not in [0, 1]")
        }
        guard self.labelThreshold.isFinite, self.labelThreshold >= 0 else {
            throw .invalid(field: "label_threshold", reason: "\(self.labelThreshold) is not a finite number ≥ 0")
        }
        guard self.labelHorizonSeconds.isFinite, self.labelHorizonSeconds > 0 else {
            throw .invalid(field: "label_horizon_seconds", reason: "\(self.labelHorizonSeconds) is not a finite number > 0")
        }
    }

    /// The profile as JSON (sorted keys), in the documented format.
    public func jsonData() throws -> Data {
        var features: [String: BinnedDistribution] = [:]
        for (i, name) in FeatureVector.names.enumerated() { features[name] = self.features[i] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(
            Wire(
                features: features, probability: self.probability, positive_rate: self.positiveRate,
                label_threshold: self.labelThreshold, label_horizon_seconds: self.labelHorizonSeconds))
    }

    /// Builds a profile from scored sample rows (for tests and `consumerd validate-model`; the shipped
    /// references come from `training/train.py`).
    public static func build(
        features: [FeatureVector], probabilities: [Double], predictions: [Int], labelThreshold: Double,
        labelHorizonSeconds: Double, binCount: Int = 10
    ) -> ReferenceProfile? {
        var distributions: [BinnedDistribution] = []
        for i in 0..<FeatureVector.count {
            guard let distribution = BinnedDistribution.fromSample(features.map { $0[i] }, binCount: binCount)
            else { return nil }
            distributions.append(distribution)
        }
        guard let probability = BinnedDistribution.fromSample(probabilities, binCount: binCount),
            !predictions.isEmpty
        else { return nil }
        let positives = predictions.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        return ReferenceProfile(
            features: distributions, probability: probability,
            positiveRate: Double(positives) / Double(predictions.count), labelThreshold: labelThreshold,
            labelHorizonSeconds: labelHorizonSeconds)
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing '\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "'\(path)': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

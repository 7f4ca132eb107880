#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Feature and prediction drift of the live stream against a model's ``ReferenceProfile``: an exact sliding
/// window of the last ``windowRecords`` predictions (all partitions together), kept as bin counts.
///
/// Each prediction stores its six bin indices (five features and the probability; −1 for a non-finite value)
/// in a ring allocated once at creation. Adding a record when the window is full first removes the oldest:
/// a record costs six binary searches over ≤ 11 edges and about a dozen integer updates, no allocation.
/// PSI is computed from the counts on demand (O(bins)), so readers decide how often to pay for it.
public struct DriftMonitor: Sendable {
    /// Number of monitored dimensions: the model features plus the probability.
    public static let dimensions = FeatureVector.count + 1

    /// The reference the window is compared with.
    public let reference: ReferenceProfile
    /// Most predictions held (`DRIFT_WINDOW_RECORDS`).
    public let windowRecords: Int
    /// PSI is reported once the window holds at least this many predictions (`DRIFT_MIN_RECORDS`).
    public let minRecords: Int

    /// Bin index per (record slot, dimension), −1 for non-finite; `windowRecords × dimensions` entries.
    private var ring: [Int16]
    /// Whether each slot's prediction was positive.
    private var positives: [Bool]
    /// Next slot to write.
    private var head = 0
    /// Records in the window.
    public private(set) var count = 0
    /// Live counts per (dimension, bin), dimension `d` starting at `binOffsets[d]`.
    private var binCounts: [Int]
    private let binOffsets: [Int]
    /// Every dimension's edges back to back (dimension `d` from `binOffsets[d] - d`, `binCounts(d) - 1` of them),
    /// so binning reads one flat array instead of copying a distribution per dimension.
    private let edges: [Double]
    /// Finite values per dimension in the window.
    private var finiteCounts: [Int]
    private var positiveCount = 0
    /// Non-finite values seen per dimension since creation (not windowed: a counter for metrics).
    public private(set) var nonFiniteTotals: [Int]

    /// PSI floor applied to both the live and the reference proportion (not renormalised).
    public static let proportionFloor = 1e-4

    /// Creates an empty window.
    /// - Parameters:
    ///   - reference: the model's reference profile (bins must have at most 32,767 bins each).
    ///   - windowRecords: window length in predictions (at least 1).
    ///   - minRecords: predictions needed before PSI is reported.
    public init(reference: ReferenceProfile, windowRecords: Int = 10_000, minRecords: Int = 500) {
        self.reference = reference
        self.windowRecords = max(1, windowRecords)
        self.minRecords = max(1, minRecords)
        var offsets: [Int] = []
        var total = 0
        for d in 0..<Self.dimensions {
            offsets.append(total)
            total += Self.distribution(reference, d).binCount
        }
        self.binOffsets = offsets
        self.edges = (0..<Self.dimensions).flatMap { Self.distribution(reference, $0).edges }
        self.binCounts = [Int](repeating: 0, count: total)
        self.ring = [Int16](repeating: -1, count: self.windowRecords * Self.dimensions)
        self.positives = [Bool](repeating: false, count: self.windowRecords)
        self.finiteCounts = [Int](repeating: 0, count: Self.dimensions)
        self.nonFiniteTotals = [Int](repeating: 0, count: Self.dimensions)
    }

    @inline(__always)
    private static func distribution(_ reference: ReferenceProfile, _ dimension: Int) -> BinnedDistribution {
        dimension < FeatureVector.count ? reference.features[dimension] : reference.probability
    }

    /// Adds one prediction (evicting the oldest when the window is full).
    public mutating func record(features: FeatureVector, probability: Double, prediction: Int) {
        let base = self.head * Self.dimensions
        if self.count == self.windowRecords {
            for d in 0..<Self.dimensions {
                let bin = Int(self.ring[base + d])
                if bin >= 0 {
                    self.binCounts[self.binOffsets[d] + bin] -= 1
                    self.finiteCounts[d] -= 1
                }
            }
            if self.positives[self.head] { self.positiveCount -= 1 }
        } else {
            self.count += 1
        }
        for d in 0..<Self.dimensions {
            let value = d < FeatureVector.count ? features[d] : probability
            if value.isFinite {
                let bin = self.bin(of: value, dimension: d)
                self.ring[base + d] = Int16(truncatingIfNeeded: bin)
                self.binCounts[self.binOffsets[d] + bin] += 1
                self.finiteCounts[d] += 1
            } else {
                self.ring[base + d] = -1
                self.nonFiniteTotals[d] += 1
            }
        }
        let positive = prediction == 1
        self.positives[self.head] = positive
        if positive { self.positiveCount += 1 }
        self.head += 1
        if self.head == self.windowRecords { self.head = 0 }
    }

    /// The number of edges of dimension `d` that are ≤ `value` (binary search in ``edges``).
    @inline(__always)
    private func bin(of value: Double, dimension d: Int) -> Int {
        let start = self.binOffsets[d] - d
        let end = (d + 1 < Self.dimensions ? self.binOffsets[d + 1] - d - 1 : self.edges.count)
        return self.edges.withUnsafeBufferPointer { edges in
            var low = start
            var high = end
            while low < high {
                let middle = (low + high) >> 1
                if edges[middle] <= value { low = middle + 1 } else { high = middle }
            }
            return low - start
        }
    }

    /// Whether the window holds enough predictions for PSI (``minRecords``).
    public var isReady: Bool { self.count >= self.minRecords }

    /// PSI of dimension `d` (0…4 features in model order, 5 the probability); `nil` before ``minRecords``
    /// predictions or when the window holds no finite value of it.
    public func psi(dimension d: Int) -> Double? {
        guard self.isReady, d >= 0, d < Self.dimensions, self.finiteCounts[d] > 0 else { return nil }
        let distribution = Self.distribution(self.reference, d)
        let finite = Double(self.finiteCounts[d])
        var sum = 0.0
        for bin in 0..<distribution.binCount {
            let p = max(Double(self.binCounts[self.binOffsets[d] + bin]) / finite, Self.proportionFloor)
            let q = max(distribution.proportions[bin], Self.proportionFloor)
            sum += (p - q) * log(p / q)
        }
        return sum
    }

    /// PSI of feature `index` in ``FeatureVector/names`` order.
    public func featurePSI(_ index: Int) -> Double? { index < FeatureVector.count ? self.psi(dimension: index) : nil }

    /// PSI of the model's probability.
    public var predictionPSI: Double? { self.psi(dimension: FeatureVector.count) }

    /// Share of positive predictions in the window (`nil` when empty).
    public var predictedPositiveRate: Double? {
        self.count > 0 ? Double(self.positiveCount) / Double(self.count) : nil
    }

    /// PSI computed directly from a list of values (for tests and `validate-model`): the same formula over
    /// a whole sample; `nil` when no value is finite.
    public static func psi(of values: [Double], against distribution: BinnedDistribution) -> Double? {
        var counts = [Int](repeating: 0, count: distribution.binCount)
        var finite = 0
        for value in values where value.isFinite {
            counts[distribution.bin(of: value)] += 1
            finite += 1
        }
        guard finite > 0 else { return nil }
        var sum = 0.0
        for bin in 0..<distribution.binCount {
            let p = max(Double(counts[bin]) / Double(finite), proportionFloor)
            let q = max(distribution.proportions[bin], proportionFloor)
            sum += (p - q) * log(p / q)
        }
        return sum
    }
}

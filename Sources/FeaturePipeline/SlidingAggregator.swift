/// A statistic that can be computed over a FIFO window by merging partial results.
///
/// `merge` must be associative and `identity` its neutral element. No inverse ("subtract") is needed, so
/// the window never accumulates cancellation error.
protocol MergeableAggregate: Sendable {
    associatedtype Element: Sendable
    static var identity: Self { get }
    init(_ element: Element)
    static func merge(_ older: Self, _ newer: Self) -> Self
}

/// A FIFO queue that answers "aggregate of everything in the queue" in amortised O(1) per operation, using
/// the two-stacks technique: pushes go to a back stack with a running aggregate; when the front is needed
/// and the front stack is empty, the back stack is flipped onto it with suffix aggregates.
///
/// Storage is reused (`removeAll(keepingCapacity:)`), so a window of steady size allocates nothing after
/// warm-up.
struct SlidingAggregator<Aggregate: MergeableAggregate>: Sendable {
    /// Front stack: `front.last` is the oldest element; each entry's aggregate covers that element and every
    /// element below it in the stack (all newer front elements), so `front.last.aggregate` covers the stack.
    private var front: [(element: Aggregate.Element, aggregate: Aggregate)] = []
    /// Back stack in arrival order, with the running aggregate of all of it.
    private var back: [Aggregate.Element] = []
    private var backAggregate: Aggregate = .identity

    init() {}

    var count: Int { self.front.count + self.back.count }
    var isEmpty: Bool { self.front.isEmpty && self.back.isEmpty }

    /// The aggregate over all elements currently queued.
    var aggregate: Aggregate {
        guard let frontAggregate = self.front.last?.aggregate else { return self.backAggregate }
        return Aggregate.merge(frontAggregate, self.backAggregate)
    }

    /// The oldest element, if any.
    var oldest: Aggregate.Element? {
        if let last = self.front.last { return last.element }
        return self.back.first
    }

    mutating func append(_ element: Aggregate.Element) {
        self.back.append(element)
        self.backAggregate = Aggregate.merge(self.backAggregate, Aggregate(element))
    }

    /// Removes the oldest element (no-op when empty).
    mutating func removeOldest() {
        if self.front.isEmpty {
            guard !self.back.isEmpty else { return }
            var suffix = Aggregate.identity
            var i = self.back.count - 1
            while i >= 0 {
                let element = self.back[i]
                suffix = Aggregate.merge(Aggregate(element), suffix)
                self.front.append((element, suffix))
                i -= 1
            }
            self.back.removeAll(keepingCapacity: true)
            self.backAggregate = .identity
        }
        self.front.removeLast()
    }
}

/// Count, mean and sum of squared deviations (M2), merged with Chan et al.'s parallel formula: numerically
/// stable, and exactly zero spread for identical inputs.
struct MeanVarianceAggregate: MergeableAggregate {
    var count: Double
    var mean: Double
    var m2: Double

    static var identity: Self { Self(count: 0, mean: 0, m2: 0) }

    init(count: Double, mean: Double, m2: Double) {
        self.count = count
        self.mean = mean
        self.m2 = m2
    }

    init(_ element: Double) {
        self.init(count: 1, mean: element, m2: 0)
    }

    @inline(__always)
    static func merge(_ a: Self, _ b: Self) -> Self {
        if a.count == 0 { return b }
        if b.count == 0 { return a }
        let n = a.count + b.count
        let delta = b.mean - a.mean
        let mean = a.mean + delta * (b.count / n)
        let m2 = a.m2 + b.m2 + delta * delta * (a.count * b.count / n)
        return Self(count: n, mean: mean, m2: m2)
    }

    /// Population variance (ddof 0).
    var populationVariance: Double { self.count > 0 ? max(0, self.m2 / self.count) : .nan }
}

/// One window entry's contribution to the per-window statistics other than returns.
struct WindowEntry: Sendable {
    var timestamp: Double
    var spread: Double
}

/// Count, mean spread and the timestamp range of window entries.
struct EntryAggregate: MergeableAggregate {
    var spread: MeanVarianceAggregate
    var minTimestamp: Double
    var maxTimestamp: Double

    static var identity: Self {
        Self(spread: .identity, minTimestamp: .infinity, maxTimestamp: -.infinity)
    }

    init(spread: MeanVarianceAggregate, minTimestamp: Double, maxTimestamp: Double) {
        self.spread = spread
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
    }

    init(_ element: WindowEntry) {
        self.init(spread: MeanVarianceAggregate(element.spread), minTimestamp: element.timestamp,
                  maxTimestamp: element.timestamp)
    }

    @inline(__always)
    static func merge(_ a: Self, _ b: Self) -> Self {
        Self(spread: .merge(a.spread, b.spread), minTimestamp: min(a.minTimestamp, b.minTimestamp),
             maxTimestamp: max(a.maxTimestamp, b.maxTimestamp))
    }
}

/// Element type for the returns window: one successive difference of ln(mid).
extension MeanVarianceAggregate {
    typealias Element = Double
}

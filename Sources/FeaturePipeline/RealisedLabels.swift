#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which of the daemon's models made a prediction.
public enum ModelRole: String, Sendable, CaseIterable {
    /// The model whose predictions are published.
    case active
    /// A model scored alongside the active one for comparison only.
    case shadow
}

/// One model's score of a tick, as the caller made it (the tracker never scores).
public struct HorizonScore: Sendable, Equatable {
    public var role: ModelRole
    public var variant: ModelVariant
    public var version: String
    public var probability: Double
    public var prediction: Int

    public init(role: ModelRole, variant: ModelVariant, version: String, probability: Double, prediction: Int) {
        self.role = role
        self.variant = variant
        self.version = version
        self.probability = probability
        self.prediction = prediction
    }
}

/// The label definition in force when a prediction is made (each open horizon keeps its own copy).
public struct LabelSettings: Sendable, Equatable {
    /// H: `LABEL_HORIZON_SECONDS`.
    public var horizonSeconds: Double
    /// τ: `LABEL_THRESHOLD` (or the active model's reference).
    public var threshold: Double
    /// Open horizons kept per partition (`LABEL_MAX_PENDING`); the oldest are dropped beyond it.
    public var maxPending: Int

    public static let defaultHorizonSeconds: Double = 60
    public static let defaultMaxPending = 100_000

    public init(
        horizonSeconds: Double = LabelSettings.defaultHorizonSeconds, threshold: Double,
        maxPending: Int = LabelSettings.defaultMaxPending
    ) {
        self.horizonSeconds = horizonSeconds
        self.threshold = threshold
        self.maxPending = max(1, maxPending)
    }
}

/// A completed horizon: one model's prediction and what then happened.
public struct RealisedOutcome: Sendable, Equatable {
    public var productId: String
    /// Event time of the predicted tick.
    public var eventTime: Double
    /// The predicted tick's input record.
    public var source: RecordSource
    public var score: HorizonScore
    /// Population standard deviation of the successive ln(mid) differences over the horizon; NaN when
    /// ``horizonTicks`` < 2.
    public var realisedVolatility: Double
    /// Number of ln(mid) differences in the horizon.
    public var horizonTicks: Int
    /// τ in force when the prediction was made.
    public var labelThreshold: Double
    /// H in force when the prediction was made.
    public var labelHorizonSeconds: Double

    /// 1 when the realised volatility is at least τ, 0 below, `nil` (unlabelled) with fewer than 2 differences.
    public var realisedLabel: Int? {
        guard self.horizonTicks >= 2 else { return nil }
        return self.realisedVolatility >= self.labelThreshold ? 1 : 0
    }
}

/// Why open horizons were dropped without an outcome (`realised_expired_total{reason}`).
public enum HorizonExpiry: String, Sendable, CaseIterable {
    /// `LABEL_MAX_PENDING` was reached: the oldest horizon of the partition made room.
    case maxPending = "max_pending"
    /// The product's state was evicted to stay within `STATE_MAX_KEYS`.
    case capacityEviction = "capacity_eviction"
    /// The product's state was dropped after `STATE_IDLE_SECONDS` without ticks.
    case idleEviction = "idle_eviction"
}

/// Scores each prediction once its future has happened: per product, the open horizons of the predictions
/// of one partition (see issue 13 for the definition).
///
/// The horizon of a prediction on tick i (event time tᵢ) is tick i, then the product's later ticks in offset
/// order that enter its window, up to but excluding the first tick with event time > tᵢ + H, which *completes*
/// it. Realised volatility is the population standard deviation of the successive ln(mid) differences over
/// the horizon.
///
/// Each open horizon keeps a running count/mean/M2 (Welford), so a tick costs one update per open horizon of
/// its product (O(ticks of the product within H)), whatever the order of event times: late and equal-time
/// ticks need no special case. Storage is reused: after warm-up, a tick allocates nothing. The number of open
/// horizons of the partition is bounded by ``LabelSettings/maxPending`` (oldest dropped, found in amortised
/// O(1) through a creation-order queue whose stale entries are skipped lazily).
public struct RealisedLabelTracker: Sendable {
    /// Settings for horizons opened from now on.
    public var settings: LabelSettings

    private struct OpenHorizon: Sendable {
        var id: UInt64
        var eventTime: Double
        var deadline: Double
        var threshold: Double
        var horizonSeconds: Double
        var source: RecordSource
        var count: Int
        var mean: Double
        var m2: Double
        var first: HorizonScore
        var second: HorizonScore?

        var scoreCount: Int { self.second == nil ? 1 : 2 }

        @inline(__always)
        mutating func add(_ difference: Double) {
            self.count += 1
            let delta = difference - self.mean
            self.mean += delta / Double(self.count)
            self.m2 += delta * (difference - self.mean)
        }

        var volatility: Double { self.count >= 2 ? (max(0, self.m2 / Double(self.count))).squareRoot() : .nan }
    }

    private struct ProductHorizons: Sendable {
        var lastEventTime: Double
        var lastLogMid: Double
        /// Open horizons in creation (id) order.
        var horizons: [OpenHorizon] = []

        func contains(_ id: UInt64) -> Bool {
            var low = 0
            var high = self.horizons.count
            while low < high {
                let middle = (low + high) >> 1
                if self.horizons[middle].id < id { low = middle + 1 } else { high = middle }
            }
            return low < self.horizons.count && self.horizons[low].id == id
        }
    }

    private var products: [String: ProductHorizons] = [:]
    /// The product of the last observed tick (valid until the dictionary's structure changes).
    private var lastIndex: Dictionary<String, ProductHorizons>.Index?
    /// Horizons in creation order, for dropping the oldest; entries of completed horizons are stale.
    private var order: [(productId: String, id: UInt64)] = []
    private var orderHead = 0
    private var nextId: UInt64 = 0
    /// Open horizons in the partition.
    public private(set) var openCount = 0
    /// Outcomes completed by the last observed tick (cleared by ``beginRecord()``).
    public private(set) var completed: [RealisedOutcome] = []
    /// Model scores dropped without an outcome since the last ``takeExpiries()``, per reason.
    public private(set) var expiries = ExpiryCounts()

    /// Counts of dropped model scores per ``HorizonExpiry``.
    public struct ExpiryCounts: Sendable, Equatable {
        public var maxPending = 0
        public var capacityEviction = 0
        public var idleEviction = 0
        public var isEmpty: Bool { self.maxPending == 0 && self.capacityEviction == 0 && self.idleEviction == 0 }
        public subscript(reason: HorizonExpiry) -> Int {
            get {
                switch reason {
                case .maxPending: return self.maxPending
                case .capacityEviction: return self.capacityEviction
                case .idleEviction: return self.idleEviction
                }
            }
            set {
                switch reason {
                case .maxPending: self.maxPending = newValue
                case .capacityEviction: self.capacityEviction = newValue
                case .idleEviction: self.idleEviction = newValue
                }
            }
        }
        public init() {}
    }

    public init(settings: LabelSettings) {
        self.settings = settings
    }

    /// Starts a new input record: forgets the previous record's completed outcomes (keeping the storage).
    @inline(__always)
    public mutating func beginRecord() {
        if !self.completed.isEmpty { self.completed.removeAll(keepingCapacity: true) }
    }

    /// Returns and zeroes the expiry counts.
    public mutating func takeExpiries() -> ExpiryCounts {
        let counts = self.expiries
        self.expiries = ExpiryCounts()
        return counts
    }

    /// A tick of `productId` entered its window: completes the product's horizons whose deadline it passes
    /// (into ``completed``) and adds its ln(mid) difference to the others.
    public mutating func observe(productId: String, eventTime: Double, midprice: Double) {
        let logMid = log(midprice)
        guard let index = self.products.index(forKey: productId) else {
            self.products[productId] = ProductHorizons(lastEventTime: eventTime, lastLogMid: logMid)
            self.lastIndex = self.products.index(forKey: productId)
            return
        }
        self.lastIndex = index
        let closed = Self.advance(
            &self.products.values[index], productId: productId, eventTime: eventTime, logMid: logMid,
            into: &self.completed)
        self.openCount -= closed
    }

    private static func advance(
        _ state: inout ProductHorizons, productId: String, eventTime: Double, logMid: Double,
        into completed: inout [RealisedOutcome]
    ) -> Int {
        let difference = logMid - state.lastLogMid
        var write = 0
        for read in state.horizons.indices {
            var horizon = state.horizons[read]
            if eventTime > horizon.deadline {
                let volatility = horizon.volatility
                completed.append(RealisedOutcome(
                    productId: productId, eventTime: horizon.eventTime, source: horizon.source, score: horizon.first,
                    realisedVolatility: volatility, horizonTicks: horizon.count, labelThreshold: horizon.threshold,
                    labelHorizonSeconds: horizon.horizonSeconds))
                if let second = horizon.second {
                    completed.append(RealisedOutcome(
                        productId: productId, eventTime: horizon.eventTime, source: horizon.source, score: second,
                        realisedVolatility: volatility, horizonTicks: horizon.count,
                        labelThreshold: horizon.threshold, labelHorizonSeconds: horizon.horizonSeconds))
                }
            } else {
                horizon.add(difference)
                state.horizons[write] = horizon
                write += 1
            }
        }
        let closed = state.horizons.count - write
        if closed > 0 { state.horizons.removeLast(closed) }
        state.lastLogMid = logMid
        state.lastEventTime = eventTime
        return closed
    }

    /// Opens a horizon at the tick last passed to ``observe(productId:eventTime:midprice:)`` (call it right
    /// after, for a tick that produced a prediction), with the current ``settings``. `second` is an optional
    /// second model's score of the same tick (e.g. the shadow model).
    public mutating func openAtLastTick(source: RecordSource, first: HorizonScore, second: HorizonScore? = nil) {
        guard let index = self.lastIndex else { return }
        let id = self.nextId
        self.nextId &+= 1
        let productId = self.products.keys[index]
        let eventTime = self.products.values[index].lastEventTime
        self.products.values[index].horizons.append(OpenHorizon(
            id: id, eventTime: eventTime, deadline: eventTime + self.settings.horizonSeconds,
            threshold: self.settings.threshold, horizonSeconds: self.settings.horizonSeconds, source: source,
            count: 0, mean: 0, m2: 0, first: first, second: second))
        self.openCount += 1
        self.order.append((productId, id))
        // Skip a few stale entries at the front, so the queue stays about as long as the open horizons.
        var skipped = 0
        while skipped < 2, self.orderHead < self.order.count, !self.isOpen(self.order[self.orderHead]) {
            self.orderHead += 1
            skipped += 1
        }
        while self.openCount > self.settings.maxPending, self.orderHead < self.order.count {
            let entry = self.order[self.orderHead]
            self.orderHead += 1
            guard let owner = self.products.index(forKey: entry.productId),
                self.products.values[owner].horizons.first?.id == entry.id
            else { continue }
            let dropped = self.products.values[owner].horizons.removeFirst()
            self.openCount -= 1
            self.expiries.maxPending += dropped.scoreCount
        }
        self.compactOrder()
    }

    private func isOpen(_ entry: (productId: String, id: UInt64)) -> Bool {
        guard let index = self.products.index(forKey: entry.productId) else { return false }
        return self.products.values[index].contains(entry.id)
    }

    /// Keeps the creation-order queue within about twice the open horizons: consumed entries are shifted out
    /// once they are half the storage, and stale ones filtered out when they outnumber the open horizons.
    private mutating func compactOrder() {
        let live = self.order.count - self.orderHead
        if live > 2 * self.openCount + 1024 {
            var write = 0
            for read in self.orderHead..<self.order.count where self.isOpen(self.order[read]) {
                self.order[write] = self.order[read]
                write += 1
            }
            self.order.removeLast(self.order.count - write)
            self.orderHead = 0
        } else if self.orderHead > 1024, self.orderHead * 2 > self.order.count {
            self.order.removeFirst(self.orderHead)
            self.orderHead = 0
        }
    }

    /// Drops a product's open horizons with its state (counted as `reason`).
    public mutating func drop(productId: String, reason: HorizonExpiry) {
        guard let removed = self.products.removeValue(forKey: productId) else { return }
        self.lastIndex = nil
        self.openCount -= removed.horizons.count
        self.expiries[reason] += removed.horizons.reduce(0) { $0 + $1.scoreCount }
    }

    /// Forgets every product and horizon without counting them (the partition moved elsewhere).
    public mutating func removeAll() {
        self.products.removeAll()
        self.lastIndex = nil
        self.order.removeAll()
        self.orderHead = 0
        self.openCount = 0
        self.completed.removeAll()
    }
}

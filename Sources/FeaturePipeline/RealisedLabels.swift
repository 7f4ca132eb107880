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
/// A tick costs O(1) amortised while event times arrive in order (see ``ProductHorizons``): late and equal-time
/// ticks are handled exactly, at the price of a scan of the product's open horizons until the out-of-order
/// ones have completed. Storage is reused: after warm-up, a tick allocates nothing. The number of open
/// horizons of the partition is bounded by ``LabelSettings/maxPending`` (oldest dropped, found in amortised
/// O(1) through a creation-order queue whose stale entries are skipped lazily).
public struct RealisedLabelTracker: Sendable {
    /// Settings for horizons opened from now on.
    public var settings: LabelSettings

    /// 104 bytes and no reference: the model identities and the topic are indices into ``scoreTable``.
    private struct OpenHorizon: Sendable {
        var id: UInt64
        /// The product's tick sequence number of the predicted tick; its differences are those of later ticks.
        var seq: UInt64
        var eventTime: Double
        var deadline: Double
        var threshold: Double
        var horizonSeconds: Double
        var offset: Int64
        var partition: Int32
        var topic: UInt32
        var firstIdentity: UInt32
        /// ``HorizonScoreTable/none`` without a second score.
        var secondIdentity: UInt32
        var firstProbability: Double
        var firstPrediction: Int
        var secondProbability: Double
        var secondPrediction: Int

        var scoreCount: Int { self.secondIdentity == HorizonScoreTable.none ? 1 : 2 }
    }

    /// One product's open horizons and the ln(mid) differences they cover.
    ///
    /// A horizon's differences are a suffix of the product's differences: those of the ticks after its own.
    /// The queue holds the differences after the *oldest* open horizon's tick, with their aggregate in O(1)
    /// (two-stack ``SlidingAggregator``), so when the oldest completes its statistics are the queue's; then the
    /// queue's front is popped up to the next horizon's tick. As long as the deadlines of the open horizons do
    /// not decrease in creation order (event times in order, one H) only the oldest can be due, and a tick costs
    /// O(1) amortised. A late tick (or a changed H) opens a horizon due before an older one: until such
    /// horizons have completed, each tick scans the open horizons, and a due one that is not the oldest is
    /// computed by a pass over its suffix of ``differences`` (rare, and bounded by the horizon's length).
    private struct ProductHorizons: Sendable {
        var lastEventTime: Double
        var lastLogMid: Double
        /// Ticks of this product seen (the sequence number of the last one).
        var tickSeq: UInt64 = 0
        /// Open horizons in creation (id) order, from ``horizonsHead`` on (the consumed prefix is shifted out
        /// once it is half the storage, so completing the oldest costs O(1) amortised).
        var horizons: [OpenHorizon] = []
        var horizonsHead = 0

        var openCount: Int { self.horizons.count - self.horizonsHead }
        var oldest: OpenHorizon? { self.horizonsHead < self.horizons.count ? self.horizons[self.horizonsHead] : nil }
        var oldestId: UInt64? { self.horizonsHead < self.horizons.count ? self.horizons[self.horizonsHead].id : nil }

        /// Removes the oldest open horizon.
        mutating func removeOldest() {
            self.horizonsHead += 1
            if self.horizonsHead == self.horizons.count {
                self.horizons.removeAll(keepingCapacity: true)
                self.horizonsHead = 0
            } else if self.horizonsHead > 64, self.horizonsHead * 2 > self.horizons.count {
                self.horizons.removeFirst(self.horizonsHead)
                self.horizonsHead = 0
            }
        }
        /// Whether ``horizons``' deadlines are non-decreasing (only the oldest can be due first).
        var deadlinesOrdered = true
        /// Differences of ticks `differencesBase…tickSeq`, from `differencesHead` on (consumed prefix kept until
        /// compaction).
        var differences: [Double] = []
        var differencesHead = 0
        var differencesBase: UInt64 = 0
        var aggregate = SlidingAggregator<MeanVarianceAggregate>()

        init(lastEventTime: Double, lastLogMid: Double) {
            self.lastEventTime = lastEventTime
            self.lastLogMid = lastLogMid
        }

        func contains(_ id: UInt64) -> Bool {
            var low = self.horizonsHead
            var high = self.horizons.count
            while low < high {
                let middle = (low + high) >> 1
                if self.horizons[middle].id < id { low = middle + 1 } else { high = middle }
            }
            return low < self.horizons.count && self.horizons[low].id == id
        }

        /// Opens a horizon at the last tick with `settings` (`topic` and the identities: ``HorizonScoreTable``
        /// indices).
        mutating func open(
            id: UInt64, settings: LabelSettings, source: RecordSource, topic: UInt32, first: HorizonScore,
            firstIdentity: UInt32, second: HorizonScore?, secondIdentity: UInt32
        ) {
            let deadline = self.lastEventTime + settings.horizonSeconds
            if self.openCount > 0, deadline < self.horizons[self.horizons.count - 1].deadline {
                self.deadlinesOrdered = false
            }
            self.horizons.append(OpenHorizon(
                id: id, seq: self.tickSeq, eventTime: self.lastEventTime, deadline: deadline,
                threshold: settings.threshold, horizonSeconds: settings.horizonSeconds, offset: source.offset,
                partition: source.partition, topic: topic, firstIdentity: firstIdentity, secondIdentity: secondIdentity,
                firstProbability: first.probability, firstPrediction: first.prediction,
                secondProbability: second?.probability ?? 0, secondPrediction: second?.prediction ?? 0))
        }

        /// Number of differences held.
        var queued: Int { self.differences.count - self.differencesHead }

        /// Appends the difference of tick `tickSeq` (only while a horizon is open).
        mutating func appendDifference(_ difference: Double) {
            if self.queued == 0 {
                self.differences.removeAll(keepingCapacity: true)
                self.differencesHead = 0
                self.differencesBase = self.tickSeq
            }
            self.differences.append(difference)
            self.aggregate.append(difference)
        }

        /// Drops queued differences that no open horizon covers (those up to the oldest horizon's own tick).
        mutating func trimToOldest() {
            let keepFrom = (self.oldest?.seq).map { $0 + 1 } ?? (self.tickSeq + 1)
            while self.queued > 0, self.differencesBase < keepFrom {
                self.aggregate.removeOldest()
                self.differencesHead += 1
                self.differencesBase += 1
            }
            if self.differencesHead > 64, self.differencesHead * 2 > self.differences.count {
                self.differences.removeFirst(self.differencesHead)
                self.differencesHead = 0
            }
        }

        /// Statistics of the differences after tick `seq` up to the last tick.
        func statistics(after seq: UInt64) -> MeanVarianceAggregate {
            if self.oldest?.seq == seq { return self.aggregate.aggregate }
            // Not the oldest: a pass over its suffix (Welford, as numerically sound as the merges).
            var result = MeanVarianceAggregate.identity
            let skip = seq + 1 > self.differencesBase ? Int(seq + 1 - self.differencesBase) : 0
            var i = self.differencesHead + skip
            while i < self.differences.count {
                let x = self.differences[i]
                result.count += 1
                let delta = x - result.mean
                result.mean += delta / result.count
                result.m2 += delta * (x - result.mean)
                i += 1
            }
            return result
        }
    }

    /// Each product's horizons live in a slot of ``products``, found through ``slots``: the creation-order queue
    /// then holds slot numbers, not product ids, so keeping it costs no string hashing or reference counting (a
    /// queue of `(String, UInt64)` entries, looked up by name, cost ~3 % of the handler thread with 3,400 products,
    /// `perf`). A dropped product's slot is reused; its stale queue entries stay recognisable because
    /// horizon ids only grow (the new occupant's horizons are all newer).
    private var slots: [String: Int32] = [:]
    /// The topics and model identities open horizons refer to.
    private var scoreTable = HorizonScoreTable()
    private var products: [ProductHorizons] = []
    private var freeSlots: [Int32] = []
    /// The slot of the last observed tick's product.
    private var lastSlot: Int32?
    /// Horizons in creation order, for dropping the oldest; entries of completed horizons are stale.
    private var order: [(slot: Int32, id: UInt64)] = []
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
        guard let slot = self.slots[productId] else {
            self.lastSlot = self.allocateSlot(productId, ProductHorizons(lastEventTime: eventTime, lastLogMid: logMid))
            return
        }
        self.lastSlot = slot
        let index = Int(slot)
        let closed = Self.advance(
            &self.products[index], productId: productId, eventTime: eventTime, logMid: logMid, table: self.scoreTable,
            into: &self.completed)
        if closed > 0 {
            // Creation-order entries of this product's completed horizons at the queue's front are stale: pop
            // them without a lookup (a partition with one product, or in-order ones, keeps the queue short so).
            let oldestOpen = self.products[index].oldestId ?? .max
            while self.orderHead < self.order.count, self.order[self.orderHead].id < oldestOpen,
                self.order[self.orderHead].slot == slot
            {
                self.orderHead += 1
            }
        }
        self.openCount -= closed
    }

    /// Puts a new product's state in a free slot (or a new one) and returns the slot.
    private mutating func allocateSlot(_ productId: String, _ state: ProductHorizons) -> Int32 {
        let slot: Int32
        if let free = self.freeSlots.popLast() {
            slot = free
            self.products[Int(free)] = state
        } else {
            slot = Int32(self.products.count)
            self.products.append(state)
        }
        self.slots[productId] = slot
        return slot
    }

    private static func advance(
        _ state: inout ProductHorizons, productId: String, eventTime: Double, logMid: Double, table: borrowing HorizonScoreTable,
        into completed: inout [RealisedOutcome]
    ) -> Int {
        var closed = 0
        // Complete the due horizons (before this tick's difference is added: the completing tick is excluded).
        if state.deadlinesOrdered {
            while state.horizonsHead < state.horizons.count, eventTime > state.horizons[state.horizonsHead].deadline {
                Self.emit(
                    state.horizons[state.horizonsHead], statistics: state.aggregate.aggregate, productId: productId,
                    table: table, into: &completed)
                state.removeOldest()
                state.trimToOldest()
                closed += 1
            }
        } else if state.openCount > 0 {
            var write = state.horizonsHead
            var ordered = true
            var previousDeadline = -Double.infinity
            for read in state.horizonsHead..<state.horizons.count {
                let horizon = state.horizons[read]
                if eventTime > horizon.deadline {
                    Self.emit(
                        horizon, statistics: state.statistics(after: horizon.seq), productId: productId, table: table,
                        into: &completed)
                    closed += 1
                } else {
                    if horizon.deadline < previousDeadline { ordered = false }
                    previousDeadline = horizon.deadline
                    state.horizons[write] = horizon
                    write += 1
                }
            }
            if closed > 0 {
                state.horizons.removeLast(closed)
                if state.openCount == 0 {
                    state.horizons.removeAll(keepingCapacity: true)
                    state.horizonsHead = 0
                }
                state.trimToOldest()
            }
            state.deadlinesOrdered = ordered
        }
        state.tickSeq &+= 1
        if state.openCount > 0 { state.appendDifference(logMid - state.lastLogMid) }
        state.lastLogMid = logMid
        state.lastEventTime = eventTime
        return closed
    }

    @inline(__always)
    private static func emit(
        _ horizon: OpenHorizon, statistics: MeanVarianceAggregate, productId: String, table: borrowing HorizonScoreTable,
        into completed: inout [RealisedOutcome]
    ) {
        let count = Int(statistics.count)
        let volatility = count >= 2 ? statistics.populationVariance.squareRoot() : .nan
        let source = RecordSource(topic: table.topic(at: horizon.topic), partition: horizon.partition, offset: horizon.offset)
        completed.append(RealisedOutcome(
            productId: productId, eventTime: horizon.eventTime, source: source,
            score: table.score(horizon.firstIdentity, probability: horizon.firstProbability, prediction: horizon.firstPrediction),
            realisedVolatility: volatility, horizonTicks: count, labelThreshold: horizon.threshold,
            labelHorizonSeconds: horizon.horizonSeconds))
        if horizon.secondIdentity != HorizonScoreTable.none {
            completed.append(RealisedOutcome(
                productId: productId, eventTime: horizon.eventTime, source: source,
                score: table.score(horizon.secondIdentity, probability: horizon.secondProbability, prediction: horizon.secondPrediction),
                realisedVolatility: volatility, horizonTicks: count, labelThreshold: horizon.threshold,
                labelHorizonSeconds: horizon.horizonSeconds))
        }
    }

    /// Opens a horizon at the tick last passed to ``observe(productId:eventTime:midprice:)`` (call it right
    /// after, for a tick that produced a prediction), with the current ``settings``. `second` is an optional
    /// second model's score of the same tick (e.g. the shadow model).
    public mutating func openAtLastTick(source: RecordSource, first: HorizonScore, second: HorizonScore? = nil) {
        guard let slot = self.lastSlot else { return }
        let id = self.nextId
        self.nextId &+= 1
        let topic = self.scoreTable.topic(source.topic)
        let firstIdentity = self.scoreTable.identity(of: first)
        let secondIdentity = second.map { self.scoreTable.identity(of: $0) } ?? HorizonScoreTable.none
        self.products[Int(slot)].open(
            id: id, settings: self.settings, source: source, topic: topic, first: first, firstIdentity: firstIdentity,
            second: second, secondIdentity: secondIdentity)
        self.openCount += 1
        self.order.append((slot, id))
        while self.openCount > self.settings.maxPending, self.orderHead < self.order.count {
            let entry = self.order[self.orderHead]
            self.orderHead += 1
            let owner = Int(entry.slot)
            guard let dropped = self.products[owner].oldest, dropped.id == entry.id else { continue }
            self.products[owner].removeOldest()
            self.products[owner].trimToOldest()
            self.openCount -= 1
            self.expiries.maxPending += dropped.scoreCount
        }
        self.compactOrder()
    }

    /// Keeps the creation-order queue within about twice the open horizons: consumed entries are shifted out
    /// once they are half the storage, and stale ones filtered out when they outnumber the open horizons.
    private mutating func compactOrder() {
        let live = self.order.count - self.orderHead
        if live > 2 * self.openCount + 1024 {
            var write = 0
            for read in self.orderHead..<self.order.count {
                let entry = self.order[read]
                guard self.products[Int(entry.slot)].contains(entry.id) else { continue }
                self.order[write] = entry
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
        guard let slot = self.slots.removeValue(forKey: productId) else { return }
        let index = Int(slot)
        let removed = self.products[index]
        if self.lastSlot == slot { self.lastSlot = nil }
        self.openCount -= removed.openCount
        for i in removed.horizonsHead..<removed.horizons.count { self.expiries[reason] += removed.horizons[i].scoreCount }
        // The slot's queue entries are stale from now on: a later occupant's horizons have newer ids.
        self.products[index] = ProductHorizons(lastEventTime: 0, lastLogMid: 0)
        self.freeSlots.append(slot)
    }

    /// Forgets every product and horizon without counting them (the partition moved elsewhere).
    public mutating func removeAll() {
        self.slots.removeAll()
        self.products.removeAll()
        self.freeSlots.removeAll()
        self.lastSlot = nil
        self.order.removeAll()
        self.orderHead = 0
        self.openCount = 0
        self.completed.removeAll()
    }
}

/// Per-product rolling windows (60 s by default) that turn ticks into ``FeatureVector``s, with bounded state.
///
/// Each tick costs O(1) amortised time and, once a product's window has reached its steady size, no
/// allocation. Statistics are merged, never subtracted, so long runs do not drift (a window whose returns
/// are all zero has a standard deviation of exactly 0).
///
/// State is bounded two ways, so a stream of ever-new product ids ("symbol explosion") cannot grow memory
/// without limit:
/// - **idle eviction**: a product whose newest tick is more than ``idleSeconds`` older than the tick being
///   processed (event time, not wall-clock) is dropped. Every 16th update inspects the least recently
///   updated products and 32 more slots in round-robin order, so every idle product is found within
///   (table size) / 2 updates (the table is never larger than ``maxKeys``) and no update scans the table.
/// - **key cap**: when ``maxKeys`` products are held, a new product evicts the least recently updated one.
///
/// Eviction only discards a window: the product's next tick starts a fresh window (one `warming_up` skip),
/// exactly as after a gap longer than ``windowSeconds``. Because ``idleSeconds`` is never below
/// ``windowSeconds``, idle eviction cannot change any feature as long as no tick arrives more than
/// `idleSeconds − windowSeconds` of event time behind a tick already processed (e.g. from a partition lagging
/// the others by an hour); the key cap changes features only while more than ``maxKeys`` products are live.
///
/// The event-time clock is the current tick's time rather than the largest ever seen, so one record with a
/// far-ahead timestamp (accepted up to now + 1 day) cannot make every product look idle at once.
public struct FeatureWindows: Sendable {
    /// Default for ``maxKeys`` (the daemon's `STATE_MAX_KEYS`).
    public static let defaultMaxKeys = 100_000
    /// Default for ``idleSeconds`` (the daemon's `STATE_IDLE_SECONDS`).
    public static let defaultIdleSeconds: Double = 3600

    /// Window length in seconds.
    public let windowSeconds: Double
    /// Most products held at once (1…2^31 − 1).
    public let maxKeys: Int
    /// Event-time seconds after its newest tick at which a product is evicted; at least ``windowSeconds``
    /// (`.infinity` disables idle eviction).
    public let idleSeconds: Double
    /// Products evicted because they were idle longer than ``idleSeconds``.
    public private(set) var idleEvictions = 0
    /// Products evicted to stay within ``maxKeys``.
    public private(set) var capacityEvictions = 0

    /// Products evicted by the last ``update(with:)``, capacity evictions first (storage reused: no allocation
    /// once it has held the most a single update evicts).
    public private(set) var evictedByLastUpdate: [String] = []
    /// How many leading entries of ``evictedByLastUpdate`` were capacity evictions (the rest were idle).
    public private(set) var capacityEvictedByLastUpdate = 0

    private var table = ProductStateTable()
    private var updatesUntilIdleCheck = 0

    /// Idle checks run every this many updates (batched, so most updates pay one decrement for them).
    private static let idleCheckInterval = 16
    /// Least recently updated products inspected for idleness per check (besides the round-robin ones).
    private static let oldestChecksPerCheck = 64
    /// Round-robin slots inspected for idleness per check: two per update on average.
    private static let sweepSlotsPerCheck = 32

    /// Creates empty windows.
    ///
    /// - Parameters:
    ///   - windowSeconds: window length in seconds.
    ///   - maxKeys: most products held at once; clamped to 1…2^31 − 1.
    ///   - idleSeconds: idle time (event time) after which a product is evicted; values below
    ///     `windowSeconds` (or NaN) are raised to `windowSeconds`; `.infinity` disables idle eviction.
    public init(
        windowSeconds: Double = 60,
        maxKeys: Int = FeatureWindows.defaultMaxKeys,
        idleSeconds: Double = FeatureWindows.defaultIdleSeconds
    ) {
        self.windowSeconds = windowSeconds
        self.maxKeys = min(max(1, maxKeys), Int(Int32.max))
        self.idleSeconds = idleSeconds >= windowSeconds ? idleSeconds : windowSeconds
    }

    /// Appends the tick to its product's window, evicts entries older than `eventTime − windowSeconds`, and
    /// returns the features when at least 2 ticks remain; `nil` means the product is still warming up.
    ///
    /// Also enforces the state bounds: a new product evicts the least recently updated one when
    /// ``maxKeys`` are held, and a few products are checked for idleness.
    public mutating func update(with tick: Tick) -> FeatureVector? {
        if !self.evictedByLastUpdate.isEmpty {
            self.evictedByLastUpdate.removeAll(keepingCapacity: true)
            self.capacityEvictedByLastUpdate = 0
        }
        let slot: Int
        if let existing = self.table.slot(of: tick.productId) {
            slot = existing
        } else {
            if self.table.count >= self.maxKeys {
                if let key = self.table.remove(self.table.oldest) {
                    self.evictedByLastUpdate.append(key)
                    self.capacityEvictedByLastUpdate = 1
                }
                self.capacityEvictions += 1
            }
            slot = self.table.insert(tick.productId)
        }
        let features = self.table.update(
            slot, eventTime: tick.eventTime, mid: (tick.bid + tick.ask) / 2, spread: tick.ask - tick.bid,
            windowSeconds: self.windowSeconds)
        self.updatesUntilIdleCheck &-= 1
        if self.updatesUntilIdleCheck <= 0 {
            self.updatesUntilIdleCheck = Self.idleCheckInterval
            self.evictIdle(now: tick.eventTime)
        }
        return features
    }

    /// Number of products currently held (the `state_keys` gauge).
    public var productCount: Int { self.table.count }

    /// Products evicted so far, for either reason.
    public var evictionCount: Int { self.idleEvictions + self.capacityEvictions }

    /// Ticks currently in the window of `productId` (0 if unknown or evicted).
    public func windowSize(of productId: String) -> Int {
        self.table.windowSize(of: productId)
    }

    /// Forgets every product (e.g. after a rebalance, before the windows are rebuilt); the limits and the
    /// eviction counters are kept.
    public mutating func removeAll() {
        self.table.removeAll()
        self.evictedByLastUpdate.removeAll()
        self.capacityEvictedByLastUpdate = 0
    }

    /// Drops a bounded number of products idle at event time `now`; the product just updated is never idle.
    private mutating func evictIdle(now: Double) {
        let cutoff = now - self.idleSeconds
        // NaN or -infinity cutoff (idle eviction disabled, or a non-finite clock): nothing is older.
        guard cutoff > -.infinity else { return }
        var checked = 0
        while checked < Self.oldestChecksPerCheck, self.table.oldest >= 0,
            self.table.lastEventTime(self.table.oldest) < cutoff
        {
            if let key = self.table.remove(self.table.oldest) { self.evictedByLastUpdate.append(key) }
            self.idleEvictions += 1
            checked += 1
        }
        self.idleEvictions += self.table.sweep(
            budget: Self.sweepSlotsPerCheck, cutoff: cutoff, removedKeys: &self.evictedByLastUpdate)
    }
}

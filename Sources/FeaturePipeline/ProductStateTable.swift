/// Per-product windows in slots, with an intrusive doubly linked list in update order (least recently
/// updated first) so the state can be bounded without scanning it.
///
/// Every operation is O(1) (amortised over dictionary growth): lookup by product id is one hash probe,
/// "mark as most recently updated" relinks three slots, and removal unlinks one slot and puts it on a free
/// list for reuse. A round-robin cursor lets callers inspect a few slots per update, so a full pass over the
/// table is spread over many updates instead of being one O(n) scan.
///
/// Slot data lives in parallel arrays, so relinking and idle checks touch only small, dense arrays and not
/// the windows themselves.
struct ProductStateTable: Sendable {
    private var index: [String: Int] = [:]
    private var keys: [String] = []
    private var windows: [ProductWindow] = []
    /// Newest event time applied to each slot's product; NaN marks a free slot (never idle, never matched).
    private var lastEventTimes: [Double] = []
    /// Neighbour updated less recently (towards ``oldest``), or -1.
    private var older: [Int32] = []
    /// Neighbour updated more recently (towards ``newest``), or -1.
    private var newer: [Int32] = []
    private var freeSlots: [Int] = []
    /// The least recently updated occupied slot, or -1 when empty.
    private(set) var oldest: Int = -1
    /// The most recently updated occupied slot, or -1 when empty.
    private(set) var newest: Int = -1
    private var cursor = 0

    init() {}

    /// Number of products held.
    var count: Int { self.index.count }

    /// The slot of `key`, if present.
    @inline(__always)
    func slot(of key: String) -> Int? { self.index[key] }

    /// Newest event time applied to the product in `slot`.
    @inline(__always)
    func lastEventTime(_ slot: Int) -> Double { self.lastEventTimes[slot] }

    /// Ticks in the window of `key` (0 if absent).
    func windowSize(of key: String) -> Int {
        guard let slot = self.index[key] else { return 0 }
        return self.windows[slot].count
    }

    /// Adds `key` with an empty window as the most recently updated product and returns its slot.
    /// The caller must ensure `key` is absent.
    mutating func insert(_ key: String) -> Int {
        let slot: Int
        if let reused = self.freeSlots.popLast() {
            slot = reused
            self.keys[slot] = key
            self.lastEventTimes[slot] = -.infinity
        } else {
            slot = self.keys.count
            self.keys.append(key)
            self.windows.append(ProductWindow())
            self.lastEventTimes.append(-.infinity)
            self.older.append(-1)
            self.newer.append(-1)
        }
        self.index[key] = slot
        self.linkAsNewest(slot)
        return slot
    }

    /// Applies one tick to the product in `slot`, marks it most recently updated, and returns its features.
    @inline(__always)
    mutating func update(
        _ slot: Int, eventTime: Double, mid: Double, spread: Double, windowSeconds: Double
    ) -> FeatureVector? {
        if slot != self.newest {
            self.unlink(slot)
            self.linkAsNewest(slot)
        }
        // `>` is false for NaN, so a free-slot marker can never be stored for a live product.
        if eventTime > self.lastEventTimes[slot] {
            self.lastEventTimes[slot] = eventTime
        }
        return self.windows[slot].update(eventTime: eventTime, mid: mid, spread: spread, windowSeconds: windowSeconds)
    }

    /// Removes the product in `slot` and releases its window's memory; returns its product id.
    @discardableResult
    mutating func remove(_ slot: Int) -> String? {
        guard self.lastEventTimes.indices.contains(slot), !self.lastEventTimes[slot].isNaN else { return nil }
        self.unlink(slot)
        let key = self.keys[slot]
        self.index.removeValue(forKey: key)
        self.keys[slot] = ""
        self.windows[slot] = ProductWindow()
        self.lastEventTimes[slot] = .nan
        self.freeSlots.append(slot)
        return key
    }

    /// Removes every product and releases the memory.
    mutating func removeAll() {
        self = ProductStateTable()
    }

    /// Inspects the next `budget` slots in round-robin order and removes the occupied ones whose last event
    /// time is before `cutoff`, appending their product ids to `removedKeys`. Returns how many were removed.
    mutating func sweep(budget: Int, cutoff: Double, removedKeys: inout [String]) -> Int {
        let slots = self.lastEventTimes.count
        guard slots > 0 else { return 0 }
        var removed = 0
        for _ in 0..<budget {
            if self.cursor >= slots { self.cursor = 0 }
            let slot = self.cursor
            self.cursor += 1
            // NaN (a free slot) is never below the cutoff.
            if self.lastEventTimes[slot] < cutoff, let key = self.remove(slot) {
                removedKeys.append(key)
                removed += 1
            }
        }
        return removed
    }

    private mutating func unlink(_ slot: Int) {
        let older = Int(self.older[slot])
        let newer = Int(self.newer[slot])
        if older >= 0 { self.newer[older] = Int32(truncatingIfNeeded: newer) } else { self.oldest = newer }
        if newer >= 0 { self.older[newer] = Int32(truncatingIfNeeded: older) } else { self.newest = older }
        self.older[slot] = -1
        self.newer[slot] = -1
    }

    private mutating func linkAsNewest(_ slot: Int) {
        self.older[slot] = Int32(truncatingIfNeeded: self.newest)
        self.newer[slot] = -1
        if self.newest >= 0 { self.newer[self.newest] = Int32(truncatingIfNeeded: slot) } else { self.oldest = slot }
        self.newest = slot
    }
}

/// Per-product rolling windows (60 s by default) that turn ticks into ``FeatureVector``s.
///
/// Each tick costs O(1) amortised time and, once a product's window has reached its steady size, no
/// allocation. Statistics are merged, never subtracted, so long runs do not drift (a window whose returns
/// are all zero has a standard deviation of exactly 0).
public struct FeatureWindows: Sendable {
    /// Window length in seconds.
    public let windowSeconds: Double
    private var windows: [String: ProductWindow] = [:]

    /// Creates empty windows of `windowSeconds` length.
    public init(windowSeconds: Double = 60) {
        self.windowSeconds = windowSeconds
    }

    /// Appends the tick to its product's window, evicts entries older than `eventTime − windowSeconds`, and
    /// returns the features when at least 2 ticks remain; `nil` means the product is still warming up.
    public mutating func update(with tick: Tick) -> FeatureVector? {
        let mid = (tick.bid + tick.ask) / 2
        let spread = tick.ask - tick.bid
        return self.windows[tick.productId, default: ProductWindow()].update(
            eventTime: tick.eventTime, mid: mid, spread: spread, windowSeconds: self.windowSeconds)
    }

    /// Number of products seen so far.
    public var productCount: Int { self.windows.count }

    /// Ticks currently in the window of `productId` (0 if unknown).
    public func windowSize(of productId: String) -> Int {
        self.windows[productId]?.count ?? 0
    }
}

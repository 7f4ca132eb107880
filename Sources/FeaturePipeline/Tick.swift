/// A priced market tick after decoding, whatever shape the input record had.
public struct Tick: Sendable, Equatable {
    /// Product identifier, e.g. `BTC-USD`.
    public var productId: String
    /// Event time in epoch seconds.
    public var eventTime: Double
    /// Last trade price.
    public var price: Double
    /// Best bid (or the documented fallback derived from `price`).
    public var bid: Double
    /// Best ask (or the documented fallback derived from `price`).
    public var ask: Double

    /// Creates a tick from already validated values.
    public init(productId: String, eventTime: Double, price: Double, bid: Double, ask: Double) {
        self.productId = productId
        self.eventTime = eventTime
        self.price = price
        self.bid = bid
        self.ask = ask
    }

    /// `(bid + ask) / 2`, the price the features are computed from.
    @inlinable
    public var midprice: Double { (self.bid + self.ask) / 2 }
}

/// The result of decoding one well-formed record.
public enum DecodedRecord: Sendable, Equatable {
    /// A priced tick.
    case tick(Tick)
    /// A raw Coinbase message whose `type` is not `ticker` (e.g. `subscriptions`, `heartbeat`): it carries
    /// no price and is skipped with ``SkipReason/noPrice``.
    case control
}

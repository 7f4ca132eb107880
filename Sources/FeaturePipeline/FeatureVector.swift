/// The five model features of one tick plus the window facts they came from.
public struct FeatureVector: Sendable, Equatable {
    /// Mean of the successive differences of ln(mid) over the window.
    public var midpriceReturnMean: Double
    /// Population standard deviation (ddof 0) of the successive differences of ln(mid).
    public var midpriceReturnStd: Double
    /// Mean of `ask − bid` over the window.
    public var bidAskSpread: Double
    /// `windowSize / windowDuration`; `+infinity` when the duration is 0.
    public var tradeIntensity: Double
    /// `bidAskSpread / mid` of the latest tick.
    public var orderBookImbalance: Double
    /// Ticks in the window.
    public var windowSize: Int
    /// `max(ts) − min(ts)` over the window, in seconds.
    public var windowDuration: Double

    /// The feature names in model order, as used in XGBoost models' `feature_names` and in outputs.
    public static let names: [String] = [
        "midprice_return_mean", "midprice_return_std", "bid_ask_spread", "trade_intensity", "order_book_imbalance",
    ]

    /// Number of model features.
    public static let count = 5

    /// Creates a feature vector from its parts.
    public init(
        midpriceReturnMean: Double,
        midpriceReturnStd: Double,
        bidAskSpread: Double,
        tradeIntensity: Double,
        orderBookImbalance: Double,
        windowSize: Int,
        windowDuration: Double
    ) {
        self.midpriceReturnMean = midpriceReturnMean
        self.midpriceReturnStd = midpriceReturnStd
        self.bidAskSpread = bidAskSpread
        self.tradeIntensity = tradeIntensity
        self.orderBookImbalance = orderBookImbalance
        self.windowSize = windowSize
        self.windowDuration = windowDuration
    }

    /// The feature at `index` in model order (see ``names``); out-of-range indices give NaN.
    public subscript(index: Int) -> Double {
        switch index {
        case 0: return self.midpriceReturnMean
        case 1: return self.midpriceReturnStd
        case 2: return self.bidAskSpread
        case 3: return self.tradeIntensity
        case 4: return self.orderBookImbalance
        default: return .nan
        }
    }
}

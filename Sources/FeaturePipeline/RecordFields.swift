/// The members of one JSON object that the decoder understands, as spans into the scanned bytes.
///
/// Unknown members are validated by the scanner and otherwise ignored. For duplicate keys the last
/// occurrence wins (as with Python's `json` module).
struct RecordFields {
    var timestamp: JSONValueSpan?
    var ts: JSONValueSpan?
    var productId: JSONValueSpan?
    var pair: JSONValueSpan?
    var price: JSONValueSpan?
    var midprice: JSONValueSpan?
    var spreadAbs: JSONValueSpan?
    var bestBid: JSONValueSpan?
    var bestAsk: JSONValueSpan?
    var time: JSONValueSpan?
    var type: JSONValueSpan?
    var raw: JSONValueSpan?

    /// Whether any member that identifies a featurizer message is present.
    var hasFeaturizerFields: Bool {
        self.price != nil || self.timestamp != nil || self.productId != nil || self.midprice != nil
    }

    /// Stores `value` under the member name `key[0..<count]` if it is one we understand.
    @inline(__always)
    mutating func record(key p: UnsafePointer<UInt8>, count: Int, value: JSONValueSpan) {
        @inline(__always)
        func equals(_ name: StaticString) -> Bool {
            memcmpEqual(p, name.utf8Start, count)
        }
        switch count {
        case 2:
            if equals("ts") { self.ts = value }
        case 3:
            if equals("raw") { self.raw = value }
        case 4:
            if equals("pair") { self.pair = value }
            else if equals("time") { self.time = value }
            else if equals("type") { self.type = value }
        case 5:
            if equals("price") { self.price = value }
        case 8:
            if equals("midprice") { self.midprice = value }
            else if equals("best_bid") { self.bestBid = value }
            else if equals("best_ask") { self.bestAsk = value }
        case 9:
            if equals("timestamp") { self.timestamp = value }
        case 10:
            if equals("product_id") { self.productId = value }
            else if equals("spread_abs") { self.spreadAbs = value }
        default:
            break
        }
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i < count {
        if a[i] != b[i] { return false }
        i &+= 1
    }
    return true
}

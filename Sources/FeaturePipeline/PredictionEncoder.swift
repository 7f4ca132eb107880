/// Writes a ``Prediction`` as one JSON object into a caller-owned, reused byte buffer.
///
/// Output (one line, keys in this order):
/// `{"product_id":…,"event_time":…,"timestamp":<processing time>,"price":…,"midprice":…,"prediction":0|1,
/// "probability":…,"threshold":…,"model_variant":"ml"|"baseline","model_version":"…"[,"fallback_reason":"…"]
/// [,"shadow":true],"features":{
/// "midprice_return_mean":…,"midprice_return_std":…,"bid_ask_spread":…,"trade_intensity":…,
/// "order_book_imbalance":…},"source":{"topic":"…","partition":N,"offset":N}}`.
///
/// Numbers use the shortest digits that round-trip (`Double(text) == value`); non-finite numbers (e.g. the
/// trade intensity of a zero-length window) are written as `null`. Strings are JSON-escaped. The parts
/// that depend only on the model are rendered once, at initialisation.
public struct PredictionEncoder: Sendable {
    /// `,"threshold":…,"model_variant":"…","model_version":"…","features":{"midprice_return_mean":`
    private let modelSegment: [UInt8]

    /// Creates an encoder for outputs of one model.
    ///
    /// - Parameters:
    ///   - fallbackReason: written as `"fallback_reason"` after the model version: the record was scored by the
    ///     fallback baseline instead of the configured ML model.
    ///   - shadow: writes `"shadow":true` (a shadow model's output, published apart from the predictions).
    public init(
        modelVariant: ModelVariant, modelVersion: String, threshold: Double, fallbackReason: FallbackReason? = nil,
        shadow: Bool = false
    ) {
        var writer = JSONByteWriter()
        writer.append(",\"threshold\":")
        writer.appendNumber(threshold)
        writer.append(",\"model_variant\":")
        writer.appendString(modelVariant.rawValue)
        writer.append(",\"model_version\":")
        writer.appendString(modelVersion)
        if let fallbackReason {
            writer.append(",\"fallback_reason\":")
            writer.appendString(fallbackReason.rawValue)
        }
        if shadow { writer.append(",\"shadow\":true") }
        writer.append(",\"features\":{\"midprice_return_mean\":")
        self.modelSegment = writer.bytes
    }

    /// Clears `buffer` (keeping its capacity) and writes the JSON object for `prediction`.
    ///
    /// - Parameters:
    ///   - processingTime: wall-clock epoch seconds written as `timestamp`.
    ///   - source: the input record's topic/partition/offset, written as `source`.
    public func encode(_ prediction: Prediction, processingTime: Double, source: RecordSource, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        // Upper bound of the output: literals, 11 numbers (≤ 24 characters each in shortest form, e.g. `-2.2250738585072014e-308`), 3 integers
        // (≤ 20 digits and a sign), and two strings that escaping can grow to 6× (`\u00XX`) plus quotes; and
        // the room ShortestDecimal writes words into past a number's end, so every number goes in place.
        let bound = Self.literalBytes + self.modelSegment.count + 11 * 25 + 3 * 21
            + 6 * (prediction.productId.utf8.count + source.topic.utf8.count) + 4 + ShortestDecimal.capacity
        if bound <= Self.stackLimit {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { scratch in
                var writer = JSONPointerWriter(scratch)
                self.write(prediction, processingTime: processingTime, source: source, to: &writer)
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<writer.count]))
            }
            return
        }
        var writer = JSONByteWriter()
        swap(&writer.bytes, &buffer)
        defer { swap(&writer.bytes, &buffer) }
        self.write(prediction, processingTime: processingTime, source: source, to: &writer)
    }

    /// Bytes of the fixed keys and punctuation written by ``write(_:processingTime:source:to:)`` (generous).
    private static let literalBytes = 256
    /// Outputs whose bound is at most this are written on the stack and copied into the buffer once (Swift
    /// places temporary allocations of up to 1 KiB on the stack; larger ones would be a heap allocation).
    private static let stackLimit = 1024

    @inline(__always)
    private func write<W: JSONWriting>(_ prediction: Prediction, processingTime: Double, source: RecordSource, to writer: inout W) {
        writer.append("{\"product_id\":")
        writer.appendString(prediction.productId)
        writer.append(",\"event_time\":")
        writer.appendNumber(prediction.eventTime)
        writer.append(",\"timestamp\":")
        writer.appendNumber(processingTime)
        writer.append(",\"price\":")
        writer.appendNumber(prediction.price)
        writer.append(",\"midprice\":")
        writer.appendNumber(prediction.midprice)
        writer.append(",\"prediction\":")
        writer.appendInteger(prediction.score.prediction)
        writer.append(",\"probability\":")
        writer.appendNumber(prediction.score.probability)
        writer.append(self.modelSegment)
        let f = prediction.features
        writer.appendNumber(f.midpriceReturnMean)
        writer.append(",\"midprice_return_std\":")
        writer.appendNumber(f.midpriceReturnStd)
        writer.append(",\"bid_ask_spread\":")
        writer.appendNumber(f.bidAskSpread)
        writer.append(",\"trade_intensity\":")
        writer.appendNumber(f.tradeIntensity)
        writer.append(",\"order_book_imbalance\":")
        writer.appendNumber(f.orderBookImbalance)
        writer.append("},\"source\":{\"topic\":")
        writer.appendString(source.topic)
        writer.append(",\"partition\":")
        writer.appendInteger(source.partition)
        writer.append(",\"offset\":")
        writer.appendInteger(source.offset)
        writer.append("}}")
    }
}

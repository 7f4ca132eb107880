/// Decodes one Kafka record into a ``Tick`` by scanning its raw bytes.
///
/// Three input shapes are recognised per record:
/// 1. a featurizer message — `{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 103472.28,
///    "midprice": …, "spread_abs": …, …}`;
/// 2. a raw Coinbase message — `{"type": "ticker", "product_id": …, "price": "103472.28", "best_bid": …,
///    "best_ask": …, "time": "2025-11-12T07:20:11.615272Z", …}`; a `type` other than `ticker` (e.g.
///    `subscriptions`, `heartbeat`) decodes to ``DecodedRecord/control``;
/// 3. an ingestor envelope — `{"ts": 1762932011.62, "pair": "BTC-USD", "raw": "<shape 2 as a JSON string>"}`.
///
/// The whole record is validated as RFC 8259 JSON (including members that are ignored, UTF-8 inside strings,
/// and a nesting limit) before any field is interpreted, so a syntax error anywhere is a `parse_error`.
///
/// Field rules:
/// - prices (`price`, `best_bid`, `best_ask`, `midprice`, `spread_abs`) may be JSON numbers or decimal
///   strings (see ``DecimalParsing``); optional fields that are absent or `null` count as missing;
/// - bid/ask: `best_bid` and `best_ask` when both are present; for featurizer messages otherwise
///   `midprice ∓ spread_abs / 2` when both are present; otherwise `price × 0.9999` / `price × 1.0001`;
/// - event time: the envelope's or message's `timestamp`, then `ts` (epoch seconds, or an ISO 8601 string),
///   then the message's ISO 8601 `time`, then the Kafka record timestamp;
/// - product id: the envelope's `product_id`, then its `pair`, then the message's `product_id`, then
///   `pair`, then the Kafka key (valid UTF-8, non-empty); the payload always wins over the key;
/// - duplicate member names: the last occurrence wins, as with Python's `json`.
///
/// Decoding does not allocate except for product ids longer than 15 UTF-8 bytes (the `String`), and for a
/// scratch buffer that does not fit on the stack (as large as the record, for records up to 16 KiB, into which
/// the envelope's `raw` is unescaped while it is validated; as large as `raw`, for larger envelopes).
public struct RecordDecoder: Sendable {
    /// Earliest accepted event time: 2000-01-01T00:00:00Z. Rejects e.g. seconds-since-boot clocks.
    public static let minimumEventTime: Double = 946_684_800
    /// How far past the wall clock an event time may lie (1 day). Rejects milliseconds and far-future times.
    public static let maximumClockSkew: Double = 86_400

    /// Containers nested deeper than this are a `parse_error`. The top-level object is depth 1.
    public let maxNestingDepth: Int

    /// Records up to this many bytes get a stack scratch buffer as large as the record, into which the
    /// envelope's `raw` string is unescaped in the same pass that validates it. Larger records (rare) unescape
    /// `raw` in a second pass, into a buffer of its own size; the result is the same either way. (Below this
    /// limit, the usual `raw` — a flat object whose only escapes are `\"` — is not unescaped at all but read in
    /// place by the same pass; see ``JSONScanner/scanNestedFlatObject(into:)``.)
    let singlePassRawLimit: Int

    /// The default ``singlePassRawLimit``: far above real envelopes (~500 bytes), small enough for the stack.
    static let defaultSinglePassRawLimit = 16 * 1024

    /// Creates a decoder; `maxNestingDepth` bounds JSON nesting (values below 1 are treated as 1).
    public init(maxNestingDepth: Int = 64) {
        self.init(maxNestingDepth: maxNestingDepth, singlePassRawLimit: Self.defaultSinglePassRawLimit)
    }

    /// Creates a decoder with a given ``singlePassRawLimit`` (tests use 0 to force the two-pass path).
    init(maxNestingDepth: Int, singlePassRawLimit: Int) {
        self.maxNestingDepth = max(1, maxNestingDepth)
        self.singlePassRawLimit = singlePassRawLimit
    }

    /// Decodes one record.
    ///
    /// - Parameters:
    ///   - value: the Kafka record value.
    ///   - key: the Kafka key bytes, or `nil` if the record has none; used as the product id only when the
    ///     payload names none.
    ///   - kafkaTimestamp: the Kafka record timestamp in epoch seconds, or `nil`; the last-resort event time.
    ///   - now: wall-clock epoch seconds, for the upper bound on event times (`now + 1 day`).
    /// - Throws: a ``RecordError`` classifying why the record is unusable.
    public func decode(
        _ value: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer?,
        kafkaTimestamp: Double?,
        now: Double
    ) throws(RecordError) -> DecodedRecord {
        guard value.count > 0, let start = value.baseAddress else { throw .parse("empty record", at: 0) }
        let base = start.assumingMemoryBound(to: UInt8.self)
        guard value.count <= self.singlePassRawLimit else {
            return try self.decode(
                base, count: value.count, scratch: nil, message: nil, key: key, kafkaTimestamp: kafkaTimestamp, now: now)
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: value.count) {
            (scratch) throws(RecordError) -> DecodedRecord in
            // Left uninitialized (RecordFields is trivial): only written, then read, for an envelope.
            try withUnsafeTemporaryAllocation(of: RecordFields.self, capacity: 1) {
                (message) throws(RecordError) -> DecodedRecord in
                try self.decode(
                    base, count: value.count, scratch: scratch.baseAddress, message: message.baseAddress,
                    key: key, kafkaTimestamp: kafkaTimestamp, now: now)
            }
        }
    }

    /// Decodes `count` bytes at `base`; `scratch`, if any, has room for `count` bytes; `message`, if any, is
    /// where the scan puts the members of `raw`'s object when it reads them in place (needs `scratch` too).
    private func decode(
        _ base: UnsafePointer<UInt8>,
        count: Int,
        scratch: UnsafeMutablePointer<UInt8>?,
        message: UnsafeMutablePointer<RecordFields>?,
        key: UnsafeRawBufferPointer?,
        kafkaTimestamp: Double?,
        now: Double
    ) throws(RecordError) -> DecodedRecord {
        var capture: JSONStringCapture? = nil
        if let scratch, let message {
            capture = JSONStringCapture(memberName: "raw", destination: scratch, capacity: count, members: message)
        }
        let outer = try ScannedObject(
            scanning: base, count: count, maxDepth: self.maxNestingDepth, context: nil, capture: capture)

        if let raw = outer.fields.raw {
            guard raw.kind == .string else {
                throw .schema("field 'raw' is not a string (expected the Coinbase message as a JSON string)")
            }
            if outer.capturedMembers, let message {
                // Read in place by the scan, with spans into the record itself (see
                // ``JSONScanner/scanNestedFlatObject(into:)``).
                return try self.assemble(
                    envelope: outer, message: ScannedObject(base: base, fields: message.pointee), isRawMessage: true,
                    key: key, kafkaTimestamp: kafkaTimestamp, now: now)
            }
            guard raw.hasEscapes else {
                let inner = try ScannedObject(
                    scanning: base + raw.start, count: raw.count, maxDepth: self.maxNestingDepth, context: "raw")
                return try self.assemble(
                    envelope: outer, message: inner, isRawMessage: true,
                    key: key, kafkaTimestamp: kafkaTimestamp, now: now)
            }
            if let scratch, let length = outer.capturedLength {
                // Already unescaped by the scan.
                let inner = try ScannedObject(
                    scanning: UnsafePointer(scratch), count: length, maxDepth: self.maxNestingDepth, context: "raw")
                return try self.assemble(
                    envelope: outer, message: inner, isRawMessage: true,
                    key: key, kafkaTimestamp: kafkaTimestamp, now: now)
            }
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(raw.count, 1)) {
                (scratch) throws(RecordError) -> DecodedRecord in
                guard let out = scratch.baseAddress else { throw .schema("no scratch memory for unescaping 'raw'") }
                let n = JSONUnescaper.unescape(base + raw.start, count: raw.count, into: out)
                let inner = try ScannedObject(
                    scanning: UnsafePointer(out), count: n, maxDepth: self.maxNestingDepth, context: "raw")
                return try self.assemble(
                    envelope: outer, message: inner, isRawMessage: true,
                    key: key, kafkaTimestamp: kafkaTimestamp, now: now)
            }
        }
        if outer.fields.type != nil {
            return try self.assemble(
                envelope: ScannedObject(noMembersAt: base), message: outer, isRawMessage: true,
                key: key, kafkaTimestamp: kafkaTimestamp, now: now)
        }
        guard outer.fields.hasFeaturizerFields else {
            throw .schema(
                "not a featurizer message, Coinbase message or ingestor envelope "
                    + "(none of 'price', 'timestamp', 'product_id', 'type', 'raw' present)")
        }
        return try self.assemble(
            envelope: ScannedObject(noMembersAt: base), message: outer, isRawMessage: false,
            key: key, kafkaTimestamp: kafkaTimestamp, now: now)
    }

    private func assemble(
        envelope: ScannedObject,
        message: ScannedObject,
        isRawMessage: Bool,
        key: UnsafeRawBufferPointer?,
        kafkaTimestamp: Double?,
        now: Double
    ) throws(RecordError) -> DecodedRecord {
        if isRawMessage, let type = message.fields.type, type.kind != .null {
            guard type.kind == .string else { throw .schema("field 'type' is not a string") }
            if !message.string(type, equals: "ticker") { return .control }
        }

        guard let priceSpan = message.fields.price else { throw .schema("missing field 'price'") }
        let price = try message.number(priceSpan, field: "price")
        guard price.isFinite, price > 0 else { throw .invalid("price \(price) is not a finite positive number") }

        let (bid, ask) = try Self.bidAsk(message: message, price: price, isRawMessage: isRawMessage)
        guard bid.isFinite, bid > 0 else { throw .invalid("best bid \(bid) is not a finite positive number") }
        guard ask.isFinite, ask > 0 else { throw .invalid("best ask \(ask) is not a finite positive number") }
        guard bid <= ask else { throw .invalid("best bid \(bid) is above best ask \(ask)") }

        let eventTime = try Self.eventTime(envelope: envelope, message: message, kafkaTimestamp: kafkaTimestamp)
        guard eventTime.isFinite, eventTime >= Self.minimumEventTime,
            eventTime <= now + Self.maximumClockSkew
        else {
            throw .invalid(
                "event time \(eventTime) is not epoch seconds between 2000-01-01 and now + 1 day "
                    + "(milliseconds are rejected)")
        }

        let productId = try Self.productId(envelope: envelope, message: message, key: key)
        return .tick(Tick(productId: productId, eventTime: eventTime, price: price, bid: bid, ask: ask))
    }

    private static func bidAsk(
        message: ScannedObject,
        price: Double,
        isRawMessage: Bool
    ) throws(RecordError) -> (bid: Double, ask: Double) {
        let bestBid = try message.optionalNumber(message.fields.bestBid, field: "best_bid")
        let bestAsk = try message.optionalNumber(message.fields.bestAsk, field: "best_ask")
        if let bestBid, let bestAsk { return (bestBid, bestAsk) }
        if !isRawMessage,
            let mid = try message.optionalNumber(message.fields.midprice, field: "midprice"),
            let spread = try message.optionalNumber(message.fields.spreadAbs, field: "spread_abs")
        {
            return (mid - spread / 2, mid + spread / 2)
        }
        return (price * 0.9999, price * 1.0001)
    }

    private static func eventTime(
        envelope: ScannedObject,
        message: ScannedObject,
        kafkaTimestamp: Double?
    ) throws(RecordError) -> Double {
        if let t = try envelope.epochSeconds(envelope.fields.timestamp, field: "timestamp") { return t }
        if let t = try envelope.epochSeconds(envelope.fields.ts, field: "ts") { return t }
        if let t = try message.epochSeconds(message.fields.timestamp, field: "timestamp") { return t }
        if let t = try message.epochSeconds(message.fields.ts, field: "ts") { return t }
        if let span = message.fields.time, span.kind != .null {
            guard span.kind == .string else { throw .schema("field 'time' is not an ISO 8601 string") }
            let parsed = try message.withStringBytes(span) { (bytes) throws(RecordError) -> Double? in
                guard let p = bytes.baseAddress else { return nil }
                return ISO8601Parsing.epochSeconds(p, count: bytes.count)
            }
            guard let parsed else { throw .schema("field 'time' is not an ISO 8601 time") }
            return parsed
        }
        if let kafkaTimestamp { return kafkaTimestamp }
        throw .schema("missing event time: no 'timestamp', 'ts' or 'time' field and no Kafka timestamp")
    }

    private static func productId(
        envelope: ScannedObject,
        message: ScannedObject,
        key: UnsafeRawBufferPointer?
    ) throws(RecordError) -> String {
        if let id = try envelope.optionalString(envelope.fields.productId, field: "product_id") { return id }
        if let id = try envelope.optionalString(envelope.fields.pair, field: "pair") { return id }
        if let id = try message.optionalString(message.fields.productId, field: "product_id") { return id }
        if let id = try message.optionalString(message.fields.pair, field: "pair") { return id }
        if let key, key.count > 0, let id = String(validating: key, as: UTF8.self) {
            return id
        }
        throw .schema("missing product id: no 'product_id' or 'pair' field and no usable Kafka key")
    }
}

import Foundation
import Testing

import FeaturePipeline

@Suite("RecordDecoder: input shapes")
struct RecordDecoderTests {
    @Test("featurizer message with numbers; bid/ask from midprice and spread_abs")
    func featurizerMessage() throws {
        let tick = try decodeTick(
            #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 103472.28, "midprice": 103472.275, "#
                + #""spread_abs": 0.01, "return_1s": null, "volatility": null, "window_size": 3, "spread_rel": 1e-7}"#)
        #expect(tick.productId == "BTC-USD")
        #expect(tick.eventTime == 1762932013.54)
        #expect(tick.price == 103472.28)
        #expect(tick.bid == 103472.275 - 0.005)
        #expect(tick.ask == 103472.275 + 0.005)
    }

    @Test("featurizer message: best_bid/best_ask win, price fallback when neither is available")
    func featurizerBidAskPrecedence() throws {
        let explicit = try decodeTick(
            #"{"timestamp": 1762932013, "product_id": "ETH-USD", "price": "100", "best_bid": 99, "best_ask": "101", "midprice": 5, "spread_abs": 1}"#)
        #expect(explicit.bid == 99)
        #expect(explicit.ask == 101)
        let fallback = try decodeTick(#"{"timestamp": 1762932013, "product_id": "ETH-USD", "price": 100, "midprice": null}"#)
        #expect(fallback.bid == 100 * 0.9999)
        #expect(fallback.ask == 100 * 1.0001)
    }

    @Test("raw Coinbase ticker with decimal strings and an ISO 8601 time")
    func rawTicker() throws {
        let tick = try decodeTick(
            #"{"type":"ticker","sequence":115498669093,"product_id":"BTC-USD","price":"103472.28","#
                + #""best_bid":"103472.27","best_ask":"103472.28","side":"buy","time":"2025-11-12T07:20:11.615272Z","trade_id":900701309}"#)
        #expect(tick.productId == "BTC-USD")
        #expect(tick.price == 103472.28)
        #expect(tick.bid == 103472.27)
        #expect(tick.ask == 103472.28)
        #expect(tick.eventTime == 1762932011.615272)
    }

    @Test("ISO 8601 offsets are applied")
    func isoOffsets() throws {
        let utc = try decodeTick(#"{"type":"ticker","product_id":"X","price":"1","time":"2025-11-12T07:20:11Z"}"#)
        let plus = try decodeTick(#"{"type":"ticker","product_id":"X","price":"1","time":"2025-11-12T09:20:11+02:00"}"#)
        let minus = try decodeTick(#"{"type":"ticker","product_id":"X","price":"1","time":"2025-11-12T02:20:11.000-05:00"}"#)
        #expect(utc.eventTime == 1762932011)
        #expect(plus.eventTime == 1762932011)
        #expect(minus.eventTime == 1762932011)
    }

    @Test("raw ticker without bid or ask falls back to price × 0.9999 / × 1.0001")
    func tickerBidAskFallback() throws {
        let tick = try decodeTick(#"{"type":"ticker","product_id":"BTC-USD","price":"200","best_bid":"199.5","time":"2025-11-12T07:20:11Z"}"#)
        #expect(tick.bid == 200 * 0.9999)
        #expect(tick.ask == 200 * 1.0001)
    }

    @Test("ingestor envelope: raw is unescaped and decoded; ts wins over the inner time")
    func envelope() throws {
        let raw = #"{"type":"ticker","product_id":"BTC-USD","price":"103472.28","best_bid":"103472.27","best_ask":"103472.28","time":"2025-11-12T07:20:11.615272Z"}"#
        let escaped = raw.replacingOccurrences(of: "\"", with: "\\\"")
        let tick = try decodeTick(#"{"ts": 1762932011.629353, "pair": "BTC-USD", "raw": ""# + escaped + #""}"#)
        #expect(tick == Tick(productId: "BTC-USD", eventTime: 1762932011.629353, price: 103472.28, bid: 103472.27, ask: 103472.28))
    }

    @Test("envelope with an unescaped-free raw string and unicode escapes in it")
    func envelopeEscapes() throws {
        let tick = try decodeTick(#"{"pair": "BTC-USD", "raw": "{\"type\":\"ticker\",\"product_id\":\"BTC\u002dUSD\",\"price\":\"5\",\"time\":\"2025-11-12T07:20:11Z\"}"}"#)
        #expect(tick.productId == "BTC-USD")
        #expect(tick.eventTime == 1762932011)
    }

    @Test("control messages decode to .control, directly or inside an envelope")
    func controlMessages() throws {
        #expect(try decode(#"{"type":"subscriptions","channels":[{"name":"ticker","product_ids":["BTC-USD"]}]}"#) == .control)
        #expect(try decode(#"{"type":"heartbeat","sequence":1,"last_trade_id":2,"product_id":"BTC-USD","time":"2025-11-12T07:20:11Z"}"#) == .control)
        #expect(try decode(#"{"ts":1762932011.6,"pair":"BTC-USD","raw":"{\"type\":\"subscriptions\",\"channels\":[]}"}"#) == .control)
    }

    @Test("event time precedence: timestamp, then ts, then time, then the Kafka timestamp")
    func eventTimePrecedence() throws {
        let both = try decodeTick(#"{"timestamp": 1762932000, "ts": 1762932001, "product_id": "A", "price": 1}"#, kafkaTimestamp: 1762932999)
        #expect(both.eventTime == 1762932000)
        let tsOnly = try decodeTick(#"{"ts": 1762932001, "product_id": "A", "price": 1}"#, kafkaTimestamp: 1762932999)
        #expect(tsOnly.eventTime == 1762932001)
        let timeOnly = try decodeTick(#"{"type":"ticker","product_id":"A","price":"1","time":"2025-11-12T07:20:11Z"}"#, kafkaTimestamp: 1762932999)
        #expect(timeOnly.eventTime == 1762932011)
        let kafkaOnly = try decodeTick(#"{"type":"ticker","product_id":"A","price":"1"}"#, kafkaTimestamp: 1762932999.5)
        #expect(kafkaOnly.eventTime == 1762932999.5)
        let envelopeTs = try decodeTick(#"{"ts":1762932005,"raw":"{\"type\":\"ticker\",\"product_id\":\"A\",\"price\":\"1\",\"time\":\"2025-11-12T07:20:11Z\"}"}"#)
        #expect(envelopeTs.eventTime == 1762932005)
    }

    @Test("product id: payload wins over the key; the key is the fallback")
    func productIdPrecedence() throws {
        let payload = try decodeTick(#"{"timestamp": 1762932000, "product_id": "ETH-USD", "price": 1}"#, key: "BTC-USD")
        #expect(payload.productId == "ETH-USD")
        let keyed = try decodeTick(#"{"timestamp": 1762932000, "price": 1}"#, key: "SOL-USD")
        #expect(keyed.productId == "SOL-USD")
        let pair = try decodeTick(#"{"ts":1762932005,"pair":"P-1","raw":"{\"type\":\"ticker\",\"price\":\"1\"}"}"#, key: "K")
        #expect(pair.productId == "P-1")
        let inner = try decodeTick(#"{"ts":1762932005,"raw":"{\"type\":\"ticker\",\"product_id\":\"I-1\",\"price\":\"1\"}"}"#, key: "K")
        #expect(inner.productId == "I-1")
    }

    @Test("duplicate keys: the last occurrence wins")
    func duplicateKeys() throws {
        let tick = try decodeTick(#"{"timestamp": 1762932000, "product_id": "A", "price": 1, "price": 2}"#)
        #expect(tick.price == 2)
    }

    @Test("numbers are parsed exactly like Python's float()")
    func correctlyRoundedNumbers() throws {
        // Expected values come from Swift's own correctly rounded parser (same results as Python's float()).
        let texts = [
            "103472.28", "0.1", "1762932013.5493498", "2.2250738585072011e-308", "9007199254740993",
            "1.00000000000000011102230246251565404236316680908203125", "123456789012345678901234567890",
            "5e-324", "0.000001", "1E+2", "7.2057594037927933e16",
        ]
        let cases = texts.map { ($0, Double($0)!) }
        for (text, expected) in cases {
            let tick = try decodeTick(#"{"timestamp": 1762932000, "product_id": "A", "price": "# + text + "}")
            #expect(tick.price == expected, "\(text)")
            let quoted = try decodeTick(#"{"timestamp": 1762932000, "product_id": "A", "price": ""# + text + #""}"#)
            #expect(quoted.price == expected, "\"\(text)\"")
        }
    }

    @Test("64 levels of nesting are accepted, 65 are not")
    func nestingLimit() throws {
        let ok = #"{"timestamp": 1762932000, "product_id": "A", "price": 1, "x": "# + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}"
        #expect(throws: Never.self) { try decode(ok) }
        let tooDeep = #"{"timestamp": 1762932000, "product_id": "A", "price": 1, "x": "# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        #expect(throws: RecordError.self) { try decode(tooDeep) }
        let narrow = RecordDecoder(maxNestingDepth: 2)
        #expect(throws: Never.self) { try decode(#"{"timestamp": 1762932000, "product_id": "A", "price": 1, "x": {"y": 1}}"#, decoder: narrow) }
        #expect(throws: RecordError.self) { try decode(#"{"timestamp": 1762932000, "product_id": "A", "price": 1, "x": {"y": [1]}}"#, decoder: narrow) }
    }

    @Test("every fixture line decodes without error")
    func fixtureDecodes() throws {
        var ticks = 0
        var controls = 0
        for line in try fixtureLines(TestPaths.tickerFile) {
            switch try decode(bytes: line) {
            case .tick: ticks += 1
            case .control: controls += 1
            }
        }
        #expect(ticks == 2_824)
        #expect(controls == 3)
    }
}

import Foundation
import Testing

import FeaturePipeline

/// Every class of bad input maps to its dead-letter error type.
@Suite("Bad input classification")
struct BadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var key: String? = nil
        var expected: RecordErrorType
        var testDescription: String { self.name }

        init(_ name: String, _ text: String, key: String? = nil, _ expected: RecordErrorType) {
            self.name = name
            self.bytes = Array(text.utf8)
            self.key = key
            self.expected = expected
        }

        init(_ name: String, bytes: [UInt8], _ expected: RecordErrorType) {
            self.name = name
            self.bytes = bytes
            self.expected = expected
        }
    }

    static let good = #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 103472.28}"#

    static let cases: [Case] = [
        // parse_error
        Case("truncated JSON", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 1034"#, .parseError),
        Case("truncated string", #"{"timestamp": 1762932013.54, "product_id": "BTC-"#, .parseError),
        Case("invalid UTF-8 in a string", bytes: Array(#"{"timestamp": 1762932013.54, "product_id": "BTC"#.utf8) + [0xC3, 0x28] + Array(#"", "price": 1}"#.utf8), .parseError),
        Case("overlong UTF-8 in an ignored field", bytes: Array(#"{"timestamp": 1762932013.54, "product_id": "A", "price": 1, "x": ""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8), .parseError),
        Case("UTF-16 surrogate encoded in UTF-8", bytes: Array(#"{"price": 1, "x": ""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8), .parseError),
        Case("65-deep nesting", #"{"price": 1, "x": "# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}", .parseError),
        Case("very deep nesting", String(repeating: "[", count: 100_000), .parseError),
        Case("bare NaN", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": NaN}"#, .parseError),
        Case("bare Infinity", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": Infinity}"#, .parseError),
        Case("trailing garbage", Self.good + "xyz", .parseError),
        Case("two documents", Self.good + Self.good, .parseError),
        Case("binary garbage", bytes: [0x00, 0xFF, 0x13, 0x37, 0x80, 0x7F], .parseError),
        Case("empty record", "", .parseError),
        Case("trailing comma", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 1,}"#, .parseError),
        Case("leading zero", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 01}"#, .parseError),
        Case("unescaped control character", "{\"price\": 1, \"product_id\": \"A\tB\"}", .parseError),
        Case("invalid escape", #"{"price": 1, "product_id": "A\xB"}"#, .parseError),
        Case("single quotes", #"{'price': 1}"#, .parseError),
        Case("invalid JSON inside raw", #"{"ts": 1762932011.6, "pair": "BTC-USD", "raw": "{\"type\":\"ticker\",\"price\":"}"#, .parseError),
        // schema_error
        Case("top-level array", #"[1, 2, 3]"#, .schemaError),
        Case("top-level string", #""BTC-USD""#, .schemaError),
        Case("no recognisable fields", #"{"hello": "world"}"#, .schemaError),
        Case("missing price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD"}"#, .schemaError),
        Case("missing price in ticker", #"{"type":"ticker","product_id":"BTC-USD","time":"2025-11-12T07:20:11Z"}"#, .schemaError),
        Case("missing product id and no key", #"{"timestamp": 1762932013.54, "price": 1}"#, .schemaError),
        Case("missing event time and no Kafka timestamp", #"{"type":"ticker","product_id":"BTC-USD","price":"1"}"#, .schemaError),
        Case("price as object", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": {"v": 1}}"#, .schemaError),
        Case("price as array", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": [1]}"#, .schemaError),
        Case("price as bool", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": true}"#, .schemaError),
        Case("price null", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": null}"#, .schemaError),
        Case("non-decimal string price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": "12abc"}"#, .schemaError),
        Case("hexadecimal string price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": "0x10"}"#, .schemaError),
        Case("empty string price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": ""}"#, .schemaError),
        Case("bid as bool", #"{"type":"ticker","product_id":"A","price":"1","best_bid":false,"best_ask":"2","time":"2025-11-12T07:20:11Z"}"#, .schemaError),
        Case("raw not a string", #"{"ts": 1762932011.6, "pair": "BTC-USD", "raw": {"type": "ticker"}}"#, .schemaError),
        Case("raw holds an array", #"{"ts": 1762932011.6, "pair": "BTC-USD", "raw": "[1]"}"#, .schemaError),
        Case("product id as number", #"{"timestamp": 1762932013.54, "product_id": 42, "price": 1}"#, .schemaError),
        Case("type as number", #"{"type": 1, "product_id": "A", "price": "1", "time": "2025-11-12T07:20:11Z"}"#, .schemaError),
        Case("time not ISO 8601", #"{"type":"ticker","product_id":"A","price":"1","time":"yesterday"}"#, .schemaError),
        Case("time with month 13", #"{"type":"ticker","product_id":"A","price":"1","time":"2025-13-12T07:20:11Z"}"#, .schemaError),
        Case("timestamp as object", #"{"timestamp": {}, "product_id": "A", "price": 1}"#, .schemaError),
        // invalid_value
        Case("\"NaN\" string price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": "NaN"}"#, .invalidValue),
        Case("\"Infinity\" string price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": "-Infinity"}"#, .invalidValue),
        Case("1e999 overflows to infinity", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 1e999}"#, .invalidValue),
        Case("negative price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": -5}"#, .invalidValue),
        Case("zero price", #"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": "0.00"}"#, .invalidValue),
        Case("bid above ask", #"{"type":"ticker","product_id":"A","price":"10","best_bid":"11","best_ask":"10.5","time":"2025-11-12T07:20:11Z"}"#, .invalidValue),
        Case("negative spread_abs", #"{"timestamp": 1762932013.54, "product_id": "A", "price": 10, "midprice": 10, "spread_abs": -1}"#, .invalidValue),
        Case("zero bid", #"{"timestamp": 1762932013.54, "product_id": "A", "price": 10, "best_bid": 0, "best_ask": 10}"#, .invalidValue),
        Case("timestamp in milliseconds", #"{"timestamp": 1762932013540, "product_id": "BTC-USD", "price": 1}"#, .invalidValue),
        Case("year 1990", #"{"timestamp": 631152000, "product_id": "BTC-USD", "price": 1}"#, .invalidValue),
        Case("far future", #"{"timestamp": 4102444800, "product_id": "BTC-USD", "price": 1}"#, .invalidValue),
        Case("ISO time in 1990", #"{"type":"ticker","product_id":"A","price":"1","time":"1990-01-01T00:00:00Z"}"#, .invalidValue),
    ]

    @Test("bad input is classified", arguments: cases)
    func classify(_ testCase: Case) {
        do {
            let decoded = try decode(bytes: testCase.bytes, key: testCase.key)
            Issue.record("expected \(testCase.expected.rawValue), decoded \(decoded)")
        } catch {
            #expect(error.type == testCase.expected, "\(error)")
            #expect(!error.reason.isEmpty)
        }
    }

    @Test("the table covers every decoder error type")
    func tableCoverage() {
        let types = Set(Self.cases.map(\.expected))
        #expect(types == [.parseError, .schemaError, .invalidValue])
        #expect(Self.cases.count >= 20)
    }

    @Test("error reasons name the field")
    func reasonsNameTheField() throws {
        do {
            _ = try decode(#"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": {"v": 1}}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.reason == "field 'price' is not a number or decimal string")
            #expect(error.description == "schema_error: field 'price' is not a number or decimal string")
        }
    }

    @Test("oversize records are dead-lettered by RecordPipeline without parsing")
    func oversize() {
        let model = LoadedModel(
            variant: .baseline, xgboost: nil,
            baseline: try? BaselineModel(mean: 0, std: 1, threshold: 2), version: "v", path: "p")
        var pipeline = RecordPipeline(model: model, maxRecordBytes: 16)
        let record = Array("{\"garbage that is not even JSON".utf8)
        let outcome = record.withUnsafeBytes {
            pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: testNow, timings: nil)
        }
        #expect(outcome == .deadLetter(RecordError(type: .oversize, reason: "record is 31 bytes, limit 16")))
    }

    @Test("RecordPipeline maps decoder errors to dead letters and control messages to no_price")
    func pipelineOutcomes() {
        let model = LoadedModel(
            variant: .baseline, xgboost: nil,
            baseline: try? BaselineModel(mean: 0, std: 1, threshold: 2), version: "v", path: "p")
        var pipeline = RecordPipeline(model: model)
        func run(_ text: String) -> RecordOutcome {
            Array(text.utf8).withUnsafeBytes {
                pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: testNow, timings: nil)
            }
        }
        guard case .deadLetter(let error) = run("{") else {
            Issue.record("expected a dead letter")
            return
        }
        #expect(error.type == .parseError)
        #expect(run(#"{"type":"heartbeat"}"#) == .skipped(.noPrice))
        #expect(run(#"{"timestamp": 1762932000, "product_id": "A", "price": 1}"#) == .skipped(.warmingUp))
        guard case .prediction(let prediction) = run(#"{"timestamp": 1762932001, "product_id": "A", "price": 1}"#) else {
            Issue.record("expected a prediction")
            return
        }
        #expect(prediction.productId == "A")
        #expect(prediction.features.windowSize == 2)
    }
}

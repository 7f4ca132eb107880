import Foundation
import Testing

@testable import FeaturePipeline

/// The envelope's `raw` string is unescaped in the same pass that validates it (records up to
/// ``RecordDecoder/singlePassRawLimit`` bytes), or after the scan (larger records). Both paths must give the
/// same ticks and the same errors, word for word; these tests force each path on the same input.
@Suite("Envelope raw: single-pass unescaping")
struct EnvelopeRawTests {
    static let singlePass = RecordDecoder()
    static let twoPass = RecordDecoder(maxNestingDepth: 64, singlePassRawLimit: 0)

    static func outcome(_ bytes: [UInt8], _ decoder: RecordDecoder) -> Result<DecodedRecord, RecordError> {
        Result { () throws(RecordError) in try decode(bytes: bytes, decoder: decoder) }
    }

    /// Decodes with both paths, records an issue if they differ, and returns the single-pass outcome.
    static func bothPaths(
        _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Result<DecodedRecord, RecordError> {
        let single = outcome(bytes, singlePass)
        let two = outcome(bytes, twoPass)
        #expect(single == two, "\(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        return single
    }

    static func envelope(_ raw: String) -> [UInt8] {
        Array(#"{"ts":1762932011.5,"raw":""#.utf8) + Array(raw.utf8) + Array(#""}"#.utf8)
    }

    /// JSON string escaping of `text` in one of several styles, so that escapes of every kind land at
    /// every offset: 0 = minimal (`\"`, `\\`, controls as `\u00XX`), 1 = everything non-alphanumeric as
    /// `\uXXXX` (surrogate pairs above U+FFFF), 2 = a per-character mix chosen by `seed`.
    static func escape(_ text: String, style: Int, seed: inout SplitMix64) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let choice = style == 2 ? Int(seed.next() % 3) : style
            let isAlphanumeric = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
            if choice == 1 && !isAlphanumeric {
                for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
                continue
            }
            switch scalar {
            case "\"": out += choice == 2 ? "\\u0022" : "\\\""
            case "\\": out += "\\\\"
            case "/": out += choice == 2 ? "\\/" : "/"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    @Test("escapes of every kind at every offset from the 8-byte blocks decode the same on both paths")
    func escapesAtEveryBlockOffset() throws {
        let samples = ["\"", "\\", "/", "é", "€", "😀", "\n", "\u{01}", "\\\"", "a\"b\\c", "\u{7F}x"]
        var seed = SplitMix64(seed: 11)
        for padding in 0..<17 {
            for sample in samples {
                let id = String(repeating: "a", count: padding) + sample + "Z"
                let inner = #"{"type":"ticker","price":"1.5","product_id":""# + Self.escape(id, style: 0, seed: &seed) + #""}"#
                for style in 0..<3 {
                    let record = Self.envelope(Self.escape(inner, style: style, seed: &seed))
                    guard case .success(.tick(let tick)) = Self.bothPaths(record) else {
                        Issue.record("no tick for \(String(decoding: record, as: UTF8.self))")
                        continue
                    }
                    #expect(tick.productId == id)
                    #expect(tick.price == 1.5)
                }
            }
        }
    }

    @Test("\\u escapes and surrogates in raw: pairs combine, lone surrogates become U+FFFD, at either level")
    func unicodeEscapesInRaw() throws {
        let outer = Self.envelope(
            #"{\"type\":\"ticker\",\"price\":\"1\",\"product_id\":\"\uD83D\uDE00\u00e9\uD800x\uDC00\"}"#)
        let inner = Self.envelope(
            #"{\"type\":\"ticker\",\"price\":\"1\",\"product_id\":\"\\uD83D\\uDE00\\u00e9\\uD800x\\uDC00\"}"#)
        for record in [outer, inner] {
            guard case .success(.tick(let tick)) = Self.bothPaths(record) else {
                Issue.record("no tick")
                continue
            }
            #expect(tick.productId == "😀é\u{FFFD}x\u{FFFD}")
        }
        let highThenQuote = Self.envelope(#"{\"type\":\"ticker\",\"price\":\"1\",\"product_id\":\"\uD83D\"}"#)
        #expect(try Self.bothPaths(highThenQuote).get() == .tick(Tick(
            productId: "\u{FFFD}", eventTime: 1762932011.5, price: 1, bid: 0.9999, ask: 1.0001)))
        let highThenBMP = Self.envelope(#"{\"type\":\"ticker\",\"price\":\"1\",\"product_id\":\"\uD83D\u0041\"}"#)
        guard case .success(.tick(let tick)) = Self.bothPaths(highThenBMP) else {
            Issue.record("no tick")
            return
        }
        #expect(tick.productId == "\u{FFFD}A")
        let quotesAsEscapes = Self.envelope(
            #"{\u0022type\u0022:\u0022ticker\u0022,\u0022price\u0022:\u00222\u0022,\u0022product_id\u0022:\u0022\u005c\u0022\u005c\u005c\u0022}"#)
        guard case .success(.tick(let quoted)) = Self.bothPaths(quotesAsEscapes) else {
            Issue.record("no tick")
            return
        }
        #expect(quoted.productId == "\"\\")
    }

    @Test("bad escapes, truncation, control bytes and bad UTF-8 in raw fail with the same error on both paths")
    func errorsInRaw() {
        let prefix = #"{"ts":1762932011.5,"raw":"{\"type\":\"ticker\",\"price\":\"1"#
        let cases: [(record: [UInt8], reason: String)] = [
            (Array((prefix + #"\x\"}"}"#).utf8), "invalid escape in string at byte 60"),
            (Array((prefix + #"\u12\"}"}"#).utf8), "invalid \\u escape in string at byte 60"),
            (Array((prefix + #"\u00"#).utf8), "invalid \\u escape in string at byte 60"),  // truncated \u at end
            (Array((prefix + #"\"#).utf8), "invalid escape in string at byte 60"),  // lone backslash at end
            (Array(prefix.utf8), "unterminated string at byte 60"),
            (Array(prefix.utf8) + [0x01] + Array(#"\"}"}"#.utf8), "unescaped control character in string at byte 60"),
            (Array(prefix.utf8) + [0xC0, 0x80] + Array(#"\"}"}"#.utf8), "invalid UTF-8 in string at byte 60"),
            (Array(prefix.utf8) + [0xE2, 0x82], "truncated UTF-8 sequence at byte 60"),
            (Array((prefix + #"\",\"product_id\":\"\uD83D\uZZZZ\"}"}"#).utf8), "invalid \\u escape in string at byte 86"),
            (Array((prefix + #"\",\"x\":\"\\uZZZZ\"}"}"#).utf8),
                "in the JSON string of field 'raw': invalid \\u escape in string at byte 34"),
            (Array((prefix + #"\",\"product_id\":\"\uD83D"}"#).utf8),
                "in the JSON string of field 'raw': unterminated string at byte 46"),
        ]
        for (record, reason) in cases {
            let result = Self.bothPaths(record)
            guard case .failure(let error) = result else {
                Issue.record("expected a parse error for \(String(decoding: record, as: UTF8.self)), got \(result)")
                continue
            }
            #expect(error == RecordError(type: .parseError, reason: reason))
        }
    }

    @Test("duplicate and escaped 'raw' member names: the last one wins, whatever its type")
    func duplicateRawMembers() throws {
        let a = #""{\"type\":\"ticker\",\"price\":\"1\",\"product_id\":\"A\"}""#
        let b = #""{\"type\":\"ticker\",\"price\":\"2\",\"product_id\":\"B\"}""#
        func record(_ members: String) -> [UInt8] { Array((#"{"ts":1762932011.5,"# + members + "}").utf8) }
        func productId(_ result: Result<DecodedRecord, RecordError>) -> String? {
            guard case .success(.tick(let tick)) = result else { return nil }
            return tick.productId
        }
        #expect(productId(Self.bothPaths(record(#""raw":"# + a + #","raw":"# + b))) == "B")
        #expect(productId(Self.bothPaths(record(#""raw":5,"raw":"# + b))) == "B")
        #expect(productId(Self.bothPaths(record(#""r\u0061w":"# + a))) == "A")
        #expect(productId(Self.bothPaths(record(#""raw":"# + a + #","r\u0061w":"# + b))) == "B")
        #expect(productId(Self.bothPaths(record(#""raw":"# + a + #","rawx":"# + b))) == "A")
        guard case .failure(let error) = Self.bothPaths(record(#""raw":"# + a + #","raw":5"#)) else {
            Issue.record("expected a schema error")
            return
        }
        #expect(error.type == .schemaError)
    }

    @Test("randomly damaged envelopes decode identically on both paths")
    func damagedEnvelopesAgree() throws {
        let lines = try fixtureLines(TestPaths.fixtures.appendingPathComponent("coinbase-btc-usd-ticker.ndjson"))
        let tokens: [[UInt8]] =
            [
                "\\", "\\\\", "\\\"", "\"", "\\u", "\\u00e9", "\\ud83d", "\\ude00", "\\ud83d\\ude00", "\\\\u0041",
                "\\\\ud83d", "\\\\uZZZZ", "\\\\x", "\\\\\\\"", "\\n", "\\/", "\\u0022", "\\u005c", "\\u0000", "\\u00",
                "\\uD800", "{", "}", "[", "]", ",", ":", " ", "0", "-", "null", "é", "€", "😀",
            ].map { Array($0.utf8) } + [[0x01], [0x1F], [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xFF]]
        var g = SplitMix64(seed: 2025)
        var ticks = 0
        for _ in 0..<3000 {
            var bytes = lines[Int(g.next() % UInt64(min(lines.count, 64)))]
            for _ in 0..<(1 + Int(g.next() % 3)) {
                switch g.next() % 4 {
                case 0, 1:
                    bytes.insert(contentsOf: tokens[Int(g.next() % UInt64(tokens.count))], at: Int(g.next() % UInt64(bytes.count + 1)))
                case 2:
                    let at = Int(g.next() % UInt64(bytes.count))
                    bytes.removeSubrange(at..<min(bytes.count, at + 1 + Int(g.next() % 3)))
                default:
                    bytes.removeSubrange(Int(g.next() % UInt64(bytes.count))..<bytes.count)
                }
                if bytes.isEmpty { bytes = [UInt8(ascii: "{")] }
            }
            if case .success(.tick) = Self.bothPaths(bytes) { ticks += 1 }
        }
        #expect(ticks > 100)  // the damage is not so heavy that nothing decodes
    }

    static let inPlacePrefix = #"{"ts":1762932011.5,"raw":""#

    /// Whether ``JSONScanner/scanNestedFlatObject(into:)`` reads the `raw` value of `inPlacePrefix + rest` in place.
    static func readsInPlace(_ record: [UInt8]) -> Bool {
        record.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            var scanner = JSONScanner(base: base, count: buffer.count, maxDepth: 64)
            scanner.index = Self.inPlacePrefix.utf8.count - 1  // the opening quote of `raw`'s value
            var members = RecordFields()
            return withUnsafeMutablePointer(to: &members) { scanner.scanNestedFlatObject(into: $0) != nil }
        }
    }

    @Test("raw read in place (a flat object, \\\" the only escape) agrees with the general path at its edges")
    func inPlaceEdges() {
        // (the raw string's contents, whether the in-place path takes it when the string is closed)
        let cases: [(String, Bool)] = [
            (#"{\"type\":\"ticker\",\"price\":\"1.5\",\"product_id\":\"A-B\"}"#, true),
            (#"{ \"type\" : \"ticker\" , \"price\" : 2e3 , \"best_bid\":-1.5E-2, \"x\":true,\"y\":false,\"z\":null } "#, true),
            ("{\\\"price\\\":\\\"1\\\",\\\"price\\\":\\\"3\\\",\\\"\\\":\\\"\\\",\\\"~\u{7F}\\\":\\\"a'b/c\\\"}", true),
            ("{}", true), (" { } ", true), (#"{\"price\":0}"#, true), (#"{\"price\":-0.0e+1}"#, true),
            // Given up, left to the general path (ticks, schema errors or parse errors).
            (#"{\"price\":\"1\",\"x\":[1,{\"a\":2}]}"#, false), (#"{\"price\":\"1\",\"x\":{}}"#, false),
            (#"{\"price\":\"1\",\"product_id\":\"A\\\"B\"}"#, false), (#"{\"price\":\"1\u0030\"}"#, false),
            (#"{\"price\":\"1\",\"product_id\":\"A\/B\"}"#, false), (#"{\n\"price\":\"1\"}"#, false),
            (#"{\"price\":\"1\"}\t"#, false), (#"{\\\"price\\\":1}"#, false), (#"{\"pri"ce\":1}"#, false),
            ("{\\\"price\\\":\\\"é\\\"}", false), (#"{\"price\":01}"#, false), (#"{\"price\":1.}"#, false),
            (#"{\"price\":-}"#, false), (#"{\"price\":1,}"#, false), (#"{\"price\":1"#, false),
            (#"{\"price\":1}x"#, false), (#"{\"price\":1}}"#, false), (#"{\"price\" 1}"#, false),
            (#"{\"price\":nul}"#, false), (#"{\"price\":truex}"#, false), (#"{\"price\":1 2}"#, false),
            ("[1]", false), (#"\"x\""#, false), ("", false), (" ", false), ("{,}", false), (#"{\"a\"}"#, false),
            (#"{\"price\":\"1\""#, false), (#"{\"price\":\"1"#, false), (#"{\"price\":1}\"#, false),
        ]
        for (raw, inPlace) in cases {
            for suffix in [#""}"#, #"","pair":"X-Y"}"#, #"" }"#, #""} x"#, #"","#, ""] {
                let record = Array((Self.inPlacePrefix + raw + suffix).utf8)
                #expect(Self.readsInPlace(record) == (inPlace && !suffix.isEmpty), "\(raw)\(suffix)")
                _ = Self.bothPaths(record)
            }
        }
    }

    @Test("the recorded envelopes decode identically on both paths")
    func fixtureAgrees() throws {
        let lines = try fixtureLines(TestPaths.fixtures.appendingPathComponent("coinbase-btc-usd-ticker.ndjson"))
        for line in lines { _ = Self.bothPaths(line) }
    }
}

import Foundation
import Testing

import FeaturePipeline

/// Strings written by another JSON encoder — escapes and multi-byte UTF-8 at every position relative to the
/// scanner's 8-byte blocks — come back unchanged, including through the envelope's nested `raw` string.
@Suite("JSON strings")
struct JSONStringTests {
    static let alphabet: [String] = ["a", "Z", "-", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{7F}", "é", "€", "😀", " "]

    @Test("product ids round-trip through one and two levels of JSON escaping")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<400 {
            let length = Int(generator.next() % 40) + 1
            let id = (0..<length).map { _ in Self.alphabet[Int(generator.next() % UInt64(Self.alphabet.count))] }.joined()
            let inner: [String: Any] = ["type": "ticker", "product_id": id, "price": "1.5", "time": "2025-11-12T07:20:11Z"]
            let innerText = String(decoding: try JSONSerialization.data(withJSONObject: inner), as: UTF8.self)
            let direct = try decodeTick(innerText)
            #expect(direct.productId == id)
            let envelope: [String: Any] = ["ts": 1762932011.5, "raw": innerText]
            let envelopeText = String(decoding: try JSONSerialization.data(withJSONObject: envelope), as: UTF8.self)
            let nested = try decodeTick(envelopeText)
            #expect(nested.productId == id)
        }
    }

    @Test("\\u escapes, surrogate pairs and lone surrogates")
    func unicodeEscapes() throws {
        let pair = try decodeTick(#"{"timestamp": 1762932000, "product_id": "x\ud83d\ude00\u00e9\u20ac", "price": 1}"#)
        #expect(pair.productId == "x😀é€")
        let lone = try decodeTick(#"{"timestamp": 1762932000, "product_id": "a\ud800b", "price": 1}"#)
        #expect(lone.productId == "a\u{FFFD}b")
    }

    @Test("invalid UTF-8 is rejected at every block offset")
    func invalidUTF8Offsets() {
        for padding in 0..<16 {
            let prefix = Array(#"{"price": 1, "x": ""#.utf8) + Array(repeating: UInt8(ascii: "a"), count: padding)
            let record = prefix + [0xF5, 0x80, 0x80, 0x80] + Array(#""}"#.utf8)
            #expect(throws: RecordError.self) { try decode(bytes: record) }
            let control = prefix + [0x1F] + Array(#""}"#.utf8)
            #expect(throws: RecordError.self) { try decode(bytes: control) }
        }
    }
}

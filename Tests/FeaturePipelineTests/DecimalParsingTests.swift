import Foundation
import Testing

import FeaturePipeline

/// Numbers too long for the exact double fast path (more than 2^53, e.g. 17-digit timestamps) but with at
/// most 19 significant digits take an extended-precision path, which must still round exactly like
/// `strtod` / Python's `float()` — in particular for exact midpoints between two doubles.
@Suite("Decimal parsing: long mantissas")
struct DecimalParsingTests {
    static func price(_ text: String) throws -> Double {
        try decodeTick(#"{"timestamp": 1762932000, "product_id": "A", "price": "# + text + "}").price
    }

    static func quotedPrice(_ text: String) throws -> Double {
        try decodeTick(#"{"timestamp": 1762932000, "product_id": "A", "price": ""# + text + #""}"#).price
    }

    @Test("midpoints and near-midpoints above 2^53 round to even like strtod")
    func midpoints() throws {
        let texts = [
            "9007199254740993", "9007199254740995", "9007199254740997", "18014398509481986",
            "18014398509481990", "18014398509481994", "9007199254740993.0000000001", "9007199254740992.9999",
            "900719925474099.3e1", "1.8014398509481986e16", "36028797018963972", "36028797018963980",
            "9223372036854775807", "9999999999999999999", "1762932013.5493498", "0.010000000009313226",
            "1234567890123456789e-27", "1234567890123456789e27", "1e27", "1e-27", "7.2057594037927933e16",
        ]
        for text in texts {
            guard let expected = Double(text) else { throw TestFailure("bad test input \(text)") }
            #expect(try Self.price(text).bitPattern == expected.bitPattern, "\(text)")
            #expect(try Self.quotedPrice(text).bitPattern == expected.bitPattern, "\"\(text)\"")
        }
    }

    @Test("random 15–19 digit decimals and integers above 2^53 parse exactly like Double(String)")
    func randomLongDecimals() throws {
        var g = SplitMix64(seed: 19)
        for _ in 0..<20_000 {
            var text: String
            if g.next() % 2 == 0 {
                // An integer of 54…63 bits (between 2^53 and 2^55 half of them are exact midpoints).
                let bits = 54 + Int(g.next() % 10)
                text = String((g.next() >> UInt64(64 - bits)) | (1 << UInt64(bits - 1)))
            } else {
                text = String((0..<(15 + Int(g.next() % 5))).map { _ in Character(String(g.next() % 10)) })
                text = String(1 + g.next() % 9) + text.dropFirst()
            }
            let dot = Int(g.next() % UInt64(text.count))
            if dot > 0 { text.insert(".", at: text.index(text.startIndex, offsetBy: dot)) }
            if g.next() % 3 == 0 { text += "e" + (g.next() % 2 == 0 ? "-" : "") + String(g.next() % 30) }
            guard let expected = Double(text), expected.isFinite else { continue }
            #expect(try Self.price(text).bitPattern == expected.bitPattern, "\(text)")
        }
    }
}

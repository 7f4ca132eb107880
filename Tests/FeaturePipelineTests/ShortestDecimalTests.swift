import Foundation
import Testing

@testable import FeaturePipeline

/// ``ShortestDecimal`` must write exactly what `Double.description` writes (outputs are compared byte for byte by
/// consumers and by the audit), and must actually decide most numbers the encoder writes (else it is no faster).
@Suite("Shortest decimal text")
struct ShortestDecimalTests {
    /// The fast path's text, or nil where it declines.
    static func fast(_ value: Double) -> String? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ShortestDecimal.capacity) { buffer in
            guard let count = ShortestDecimal.write(value, to: buffer.baseAddress!) else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }

    /// What the JSON writers write for `value` (fast path or standard library).
    static func written(_ value: Double) -> String {
        var writer = JSONByteWriter()
        writer.appendNumber(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Whether `value` is one the fast path is meant to decide: zero, or 2^-33 ≤ |v| < 2^50 and not a power of two.
    static func inRange(_ value: Double) -> Bool {
        value == 0 || (value.magnitude >= 0x1p-33 && value.magnitude < 0x1p50 && value.significandBitPattern != 0)
    }

    /// Checks every value; returns how many the fast path decided, of how many in its range.
    static func check(_ values: some Sequence<Double>, _ kind: String) -> (decided: Int, total: Int) {
        var decided = 0
        var total = 0
        var mismatches: [String] = []
        for value in values {
            if inRange(value) { total += 1 }
            let expected = value.description
            if let text = fast(value) {
                if inRange(value) { decided += 1 } else if mismatches.count < 5 { mismatches.append("\(kind): decided \(value) outside the range") }
                if text != expected, mismatches.count < 5 {
                    mismatches.append("\(kind): bits 0x\(String(value.bitPattern, radix: 16)) wrote \(text), Swift \(expected)")
                }
            }
            if written(value) != expected, mismatches.count < 5 {
                mismatches.append("\(kind): writer wrote \(written(value)), Swift \(expected)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        return (decided, total)
    }

    @Test("random doubles across and beyond the range: same text as description")
    func randomBitPatterns() {
        var g = SplitMix64(seed: 0xD0_0B1E)
        let values = (0..<300_000).map { _ -> Double in
            // Binary exponents from -45 to 60: inside the fast range and on both sides of it.
            let exponent = UInt64(1023 - 45) + g.next() % 106
            let sign = g.next() & 1
            return Double(bitPattern: sign << 63 | exponent << 52 | (g.next() & 0x000F_FFFF_FFFF_FFFF))
        }
        let (decided, total) = Self.check(values, "bits")
        // In the range only exact ties whose neighbours both read back are declined (and candidates exactly on an
        // interval's edge): values with at most 18 significant digits, i.e. large ones with few fraction bits
        // (~2 % of random bit patterns from 2^43 up, next to none below).
        #expect(total > 200_000 && decided >= total - total / 50, "decided \(decided) of \(total) in range")
    }

    @Test("short decimals (prices, sizes, timestamps) read from text: same text, all decided")
    func shortDecimals() {
        var g = SplitMix64(seed: 17)
        var values: [Double] = []
        for _ in 0..<200_000 {
            let digits = 1 + Int(g.next() % 16)
            var mantissa: UInt64 = 0
            for _ in 0..<digits { mantissa = mantissa * 10 + g.next() % 10 }
            let point = Int(g.next() % 20)  // digits after the point, so 1e-4 … 1e15 and small exponents
            var text = String(mantissa)
            if point > 0 {
                if text.count <= point { text = String(repeating: "0", count: point - text.count + 1) + text }
                text.insert(".", at: text.index(text.endIndex, offsetBy: -point))
            }
            if let value = Double(text) { values.append(g.next() & 1 == 0 ? value : -value) }
        }
        let (decided, total) = Self.check(values, "decimal")
        #expect(total > 150_000 && decided >= total - total / 200, "decided \(decided) of \(total) in range")
    }

    @Test("values next to powers of ten, the positional/exponent switch and the range's ends")
    func edges() {
        var values: [Double] = [0, -0.0, 1, -1, 0.1, 0.2, 0.3, 1e-4, 1e-5, 9.9999e-5, 5e-324, 1e15, 1e16, 0x1p49, 0x1p50, 0x1p-33]
        var power = 1e-12
        while power < 1e17 {
            var v = power
            for _ in 0..<40 { v = v.nextDown }
            for _ in 0..<80 {
                values.append(v)
                v = v.nextUp
            }
            power *= 10
        }
        _ = Self.check(values, "edge")
        #expect(Self.fast(0.0001) == "0.0001")
        #expect(Self.fast(0.0001.nextDown) == "9.999999999999999e-05")
        #expect(Self.fast(-0.0) == "-0.0")
        #expect(Self.fast(1e-5) == "1e-05")
        #expect(Self.fast(100) == "100.0")  // 1.5625 · 2^6: decided; 64, a power of two, is not
        #expect(Self.fast(64) == nil)
    }

    @Test("the encoder's own numbers: event times, probabilities, features")
    func encoderLikeValues() {
        var g = SplitMix64(seed: 99)
        func unit() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
        var values: [Double] = []
        for _ in 0..<100_000 {
            values.append(1_762_932_011 + unit() * 86_400)  // epoch seconds with microseconds
            values.append((1_762_932_011_000_000 + Double(g.next() % 86_400_000_000)) / 1e6)
            values.append(unit())  // probabilities
            values.append((unit() - 0.5) * 1e-6)  // return means
            values.append(unit() * 1e-3)  // return std
            values.append(unit() * 40)  // intensity
        }
        let (decided, total) = Self.check(values, "encoder")
        #expect(total > 590_000 && decided >= total - total / 1000, "decided \(decided) of \(total) in range")
    }
}

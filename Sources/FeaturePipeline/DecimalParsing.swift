#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Text → `Double` conversion for JSON numbers and decimal strings, correctly rounded (the same result as
/// Python's `float()`), without allocating.
///
/// Short inputs take an exact fast path (≤ 19 significant digits whose value is ≤ 2^53 and a power-of-ten
/// scale ≤ 22, where one IEEE multiplication or division is correctly rounded); other inputs with ≤ 19
/// significant digits and a scale within ±27 are converted in extended precision where the platform has it
/// (see `DecimalParsing+Extended.swift`), which is also correctly rounded. Everything else goes through
/// the C library's correctly rounded `strtod` on a NUL-terminated stack copy; if `strtod` does not consume
/// the whole text (e.g. a process-wide locale with a different decimal separator), Swift's locale-independent
/// `Double(String)` is used instead.
enum DecimalParsing {
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    @inline(__always)
    private static func digit(_ c: UInt8) -> UInt8? {
        let d = c &- UInt8(ascii: "0")
        return d < 10 ? d : nil
    }

    /// Parses text already validated as a JSON number.
    static func parseJSONNumber(_ p: UnsafePointer<UInt8>, count: Int) -> Double {
        if let fast = self.fastPath(p, count: count) { return fast }
        return self.slowPath(p, count: count)
    }

    /// Parses a decimal string value (the body of a JSON string, without quotes).
    ///
    /// Accepted: an optional sign, then digits with an optional `.` (at least one digit in total, `.5` and
    /// `5.` allowed), then an optional exponent; or, case-insensitively, `nan`, `inf`, `infinity` with an
    /// optional sign (these are valid decimals that later fail the finiteness check as `invalid_value`).
    /// No surrounding whitespace, no underscores, no hexadecimal.
    /// - Returns: `nil` when the text is not a decimal number.
    static func parseDecimalString(_ p: UnsafePointer<UInt8>, count: Int) -> Double? {
        guard count > 0 else { return nil }
        var i = 0
        var negative = false
        if p[0] == UInt8(ascii: "-") || p[0] == UInt8(ascii: "+") {
            negative = p[0] == UInt8(ascii: "-")
            i = 1
        }
        if i < count, let special = self.special(p + i, count: count - i) {
            return negative ? -special : special
        }
        var digits = 0
        while i < count, digit(p[i]) != nil { i += 1; digits += 1 }
        if i < count, p[i] == UInt8(ascii: ".") {
            i += 1
            while i < count, digit(p[i]) != nil { i += 1; digits += 1 }
        }
        guard digits > 0 else { return nil }
        if i < count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            if i < count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            var expDigits = 0
            while i < count, digit(p[i]) != nil { i += 1; expDigits += 1 }
            guard expDigits > 0 else { return nil }
        }
        guard i == count else { return nil }
        return self.parseJSONNumber(p, count: count)
    }

    private static func special(_ p: UnsafePointer<UInt8>, count: Int) -> Double? {
        func matches(_ word: StaticString) -> Bool {
            guard count == word.utf8CodeUnitCount else { return false }
            for k in 0..<count where p[k] | 0x20 != word.utf8Start[k] { return false }
            return true
        }
        if matches("nan") { return .nan }
        if matches("inf") || matches("infinity") { return .infinity }
        return nil
    }

    /// Correctly rounded conversion for short inputs; `nil` when the input needs `strtod`.
    /// Accepts an optional leading `+`/`-`, digits, optional fraction, optional exponent (already validated).
    private static func fastPath(_ p: UnsafePointer<UInt8>, count: Int) -> Double? {
        var i = 0
        var negative = false
        if i < count, p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") {
            negative = p[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0
        var scale = 0
        while i < count, let d = digit(p[i]) {
            mantissa = mantissa &* 10 &+ UInt64(d)
            if mantissa != 0 { significant += 1 }
            i += 1
        }
        if i < count, p[i] == UInt8(ascii: ".") {
            i += 1
            while i < count, let d = digit(p[i]) {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { significant += 1 }
                scale -= 1
                i += 1
            }
        }
        guard significant <= 19 else { return nil }
        if i < count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
                expNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            var exponent = 0
            while i < count, let d = digit(p[i]) {
                guard exponent < 100_000 else { return nil }
                exponent = exponent * 10 + Int(d)
                i += 1
            }
            scale += expNegative ? -exponent : exponent
        }
        guard i == count else { return nil }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        let value: Double
        if mantissa <= (1 << 53), scale >= -22, scale <= 22 {
            let m = Double(mantissa)
            value = scale >= 0 ? m * self.exactPowersOfTen[scale] : m / self.exactPowersOfTen[-scale]
        } else if let extended = self.extendedPrecision(mantissa: mantissa, scale: scale) {
            value = extended
        } else {
            return nil
        }
        return negative ? -value : value
    }

    private static func slowPath(_ p: UnsafePointer<UInt8>, count: Int) -> Double {
        let parsed: Double? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
            guard let cString = buffer.baseAddress else { return nil }
            UnsafeMutableRawPointer(cString).copyMemory(from: p, byteCount: count)
            cString[count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(cString, &end)
            guard let end, end - cString == count else { return nil }
            return value
        }
        if let parsed { return parsed }
        let text = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        return Double(text) ?? .nan
    }
}

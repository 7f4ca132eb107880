/// The shortest decimal text that reads back as a given `Double`, byte for byte what Swift's `description` writes
/// (`103472.28`, `0.0001`, `5.0`, `1.5e-07`, `-0.0`), for the numbers the prediction encoder writes: finite,
/// zero or 2⁻³³ ≤ |v| < 2⁵⁰ (~1.2e-10 to ~1.1e15).
///
/// Why our own: `Double.description` (the standard library's `_Float64ToASCII`, 128-bit arithmetic in software)
/// cost ~80 ns per number in the stream, eleven numbers per prediction: 20 % of the handler stage's CPU, the
/// largest single item in it (`perf`, docs/PERFORMANCE.md, session 11). No package in the mirror does this. Here the
/// digits come from one exact 64×64→128-bit product per number, in ~15–25 ns.
///
/// How: v = m·2^(b−52) with a 53-bit m. Scaled by 10^k so that it has 17 integer digits, v·10^k = m·5^k / 2^s
/// exactly (s = 52 − b − k), so its integer part, the remainder and the half-ulp interval around it are exact
/// integers. Then, with ulp the spacing of doubles at v:
/// - if some decimal of at most 15 significant digits reads back as v, it is v rounded to 15 digits: half an ulp is
///   below 2.2e-16·10^e / 2, half the 15-digit spacing is 5e-15·10^e, so exactly one 15-digit value lies within
///   half an ulp, and it is the rounding. Its digits without trailing zeros are the shortest text.
/// - else the shortest has 16 digits if v rounded to 16 digits reads back (the nearest of the 16-digit values; the
///   interval is symmetric, so if the nearest is outside, every other is), which Swift picks as the closest of the
///   shortest; else 17 digits, v rounded to 17 digits, which always reads back.
/// Where that reasoning needs care it declines (returns `nil`) and the caller uses the standard library: an exact
/// tie when rounding whose neighbours read back, a power of two (its interval is narrower below), subnormals, and
/// magnitudes outside the range. (A candidate exactly on the interval's edge, which would read back only under
/// round-half-even, cannot occur: the scaled distance below is even and the scaled half-ulp 5^k odd.) So the text
/// is always Swift's, only faster; `ShortestDecimalTests` compares the two on 800k values, a one-off run on 40M.
enum ShortestDecimal {
    /// Room ``write(_:to:)`` needs: a sign and 17 digits with `0.` and three zeros, or `e-NN`, plus room for
    /// whole-word copies past the end (see ``layout(digits:count:exponent:to:)``).
    static let capacity = 48

    /// Writes the text for `value` to `out` (room for ``capacity`` bytes) and returns its length, or returns `nil`
    /// (nothing meaningful written) where the standard library must decide.
    @inline(__always)
    static func write(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int? {
        let bits = value.bitPattern
        let biased = Int(truncatingIfNeeded: (bits &>> 52) & 0x7FF)
        let fraction = bits & 0x000F_FFFF_FFFF_FFFF
        var length = 0
        if bits &>> 63 != 0 {
            out[0] = UInt8(ascii: "-")
            length = 1
        }
        if biased == 0 {
            guard fraction == 0 else { return nil }  // subnormal
            out[length] = UInt8(ascii: "0")
            out[length &+ 1] = UInt8(ascii: ".")
            out[length &+ 2] = UInt8(ascii: "0")
            return length &+ 3
        }
        let binaryExponent = biased &- 1023
        // A power of two has a narrower interval below it than above; and the range keeps k and s in bounds.
        guard fraction != 0, binaryExponent >= -33, binaryExponent < 50 else { return nil }
        guard let (digits, count, exponent) = self.digits(significand: fraction | (1 << 52), binaryExponent: binaryExponent) else {
            return nil
        }
        return length &+ self.layout(digits: digits, count: count, exponent: exponent, to: out + length)
    }

    /// The shortest digits of m·2^(binaryExponent − 52) as an integer of `count` digits without trailing zeros,
    /// the first at decimal exponent `exponent`; `nil` where the caller must decide.
    @inline(__always)
    private static func digits(significand m: UInt64, binaryExponent: Int) -> (UInt64, Int, Int)? {
        // floor(binaryExponent · log10 2), or one below the true decimal exponent (corrected below).
        var exponent = (binaryExponent &* 1233) &>> 12
        var attempts = 0
        while attempts < 2 {
            attempts &+= 1
            let k = 16 &- exponent
            let s = 52 &- binaryExponent &- k
            guard k >= 0, k < Self.powersOfFive.count, s >= 1, s <= 62 else { return nil }
            let pow5 = Self.powersOfFive[k]
            let n = UInt128(m) &* UInt128(pow5)  // < 2^53 · 5^27 < 2^116
            let floor = UInt64(truncatingIfNeeded: n &>> s)  // v·10^k < 10^18 < 2^60
            if floor >= 100_000_000_000_000_000 {
                exponent &+= 1
                continue
            }
            guard floor >= 10_000_000_000_000_000 else { return nil }
            let remainder = n & ((1 &<< UInt128(s)) &- 1)
            let twiceN = n &<< 1
            let limit = UInt128(pow5)  // half an ulp, scaled by 2^(s+1)
            // Whether the 17-digit-scale integer `candidate` reads back as v: |candidate − n/2^s| < ulp/2. Never
            // exactly on the edge: `distance` is even (s ≥ 1), `limit` odd.
            func readsBack(_ candidate: UInt64) -> Bool {
                let scaled = UInt128(candidate) &<< UInt128(s &+ 1)  // < 2^57 · 2^63
                let distance = scaled > twiceN ? scaled &- twiceN : twiceN &- scaled
                return distance < limit
            }
            // 15 and 16 digits: floor(v·10^k) + remainder rounded to the nearest multiple of 100, then of 10
            // (constant divisors, which the compiler turns into multiplications; a `div` costs ~40 cycles).
            @inline(__always)
            func rounded(_ q: UInt64, _ r: UInt64, unit: UInt64, precision: Int) -> Step {
                let half = unit / 2
                if r == half && remainder == 0 {
                    // An exact tie (v has 17 digits, the last a 5): it matters only if a neighbour reads back.
                    guard !readsBack(q &* unit), !readsBack((q &+ 1) &* unit) else { return .declined }
                    return .longer
                }
                let candidate = r >= half ? q &+ 1 : q
                guard readsBack(candidate &* unit) else { return .longer }
                return .digits(self.trimmed(candidate, count: precision, exponent: exponent))
            }
            switch rounded(floor / 100, floor % 100, unit: 100, precision: 15) {
            case .digits(let digits): return digits
            case .declined: return nil
            case .longer: break
            }
            switch rounded(floor / 10, floor % 10, unit: 10, precision: 16) {
            case .digits(let digits): return digits
            case .declined: return nil
            case .longer: break
            }
            let half = (1 as UInt128) &<< UInt128(s &- 1)
            if remainder == half { return nil }
            let nearest = remainder > half ? floor &+ 1 : floor
            guard readsBack(nearest) else { return nil }  // cannot fail (see the type's comment): kept as a guard
            return self.trimmed(nearest, count: 17, exponent: exponent)
        }
        return nil
    }

    /// What one precision gives: the digits, "decline", or "needs more digits".
    private enum Step {
        case digits((UInt64, Int, Int))
        case declined
        case longer
    }

    /// `digits` (`count` digits, or one more after rounding up to 10^count) without its trailing zeros.
    @inline(__always)
    private static func trimmed(_ digits: UInt64, count: Int, exponent: Int) -> (UInt64, Int, Int) {
        var digits = digits
        var count = count
        var exponent = exponent
        if digits == Self.powersOfTen[count] {  // 9.99…95 rounded up: 10.0…0
            digits /= 10
            exponent &+= 1
        }
        while digits % 10 == 0 {
            digits /= 10
            count &-= 1
        }
        return (digits, count, exponent)
    }

    /// Writes `digits` (`count` of them, the first at decimal exponent `exponent`) as Swift does: positional from
    /// 1e-4 on (`0.0001`, `12.5`, `100.0`), else `d.ddde-NN`.
    ///
    /// Copies go a whole 8-byte word at a time, past the digits' end (``capacity`` leaves room for it): calls to
    /// `memmove` for a dozen bytes cost more than the digits.
    @inline(__always)
    private static func layout(digits: UInt64, count: Int, exponent: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        // All 17 digits, zero-padded, in the first 17 bytes of a 48-byte scratch (room for 24-byte copies from
        // anywhere in them); the number's own digits are the last `count` of them.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer -> Int in
            let text = buffer.baseAddress!
            // The bytes after the digits are copied along (and then ignored): initialised, not read as garbage.
            let tail = UnsafeMutableRawPointer(text)
            for offset in stride(from: 16, to: 48, by: 8) { tail.storeBytes(of: 0 as UInt64, toByteOffset: offset, as: UInt64.self) }
            let pairs = Self.digitPairs.utf8Start
            // Eight digits as four pairs, at text[end-8..<end].
            @inline(__always)
            func writeEight(_ chunk: UInt32, endingAt end: Int) {
                var chunk = chunk
                var j = end
                for _ in 0..<4 {
                    let pair = Int(chunk % 100) &* 2
                    chunk /= 100
                    text[j &- 2] = pairs[pair]
                    text[j &- 1] = pairs[pair &+ 1]
                    j &-= 2
                }
            }
            writeEight(UInt32(truncatingIfNeeded: digits % 100_000_000), endingAt: 17)
            writeEight(UInt32(truncatingIfNeeded: (digits / 100_000_000) % 100_000_000), endingAt: 9)
            text[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: digits / 10_000_000_000_000_000)
            let first = text + (17 &- count)
            // 24 bytes from `source` to `destination`, whatever the digits' count (≤ 17).
            @inline(__always)
            func copy24(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<UInt8>) {
                let from = UnsafeRawPointer(source)
                let to = UnsafeMutableRawPointer(destination)
                to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
                (to + 8).storeBytes(of: from.loadUnaligned(fromByteOffset: 8, as: UInt64.self), as: UInt64.self)
                (to + 16).storeBytes(of: from.loadUnaligned(fromByteOffset: 16, as: UInt64.self), as: UInt64.self)
            }
            if exponent >= 0 {
                let integerDigits = exponent &+ 1
                if count <= integerDigits {
                    // 1234500.0: the digits, zeros up to the point, ".0".
                    copy24(first, out)
                    var o = count
                    while o < integerDigits {
                        out[o] = UInt8(ascii: "0")
                        o &+= 1
                    }
                    out[o] = UInt8(ascii: ".")
                    out[o &+ 1] = UInt8(ascii: "0")
                    return o &+ 2
                }
                // 103472.28: the integer digits, the point, the rest.
                copy24(first, out)
                copy24(first + integerDigits, out + (integerDigits &+ 1))
                out[integerDigits] = UInt8(ascii: ".")
                return count &+ 1
            }
            if exponent >= -4 {
                // 0.00012: "0.", zeros, the digits.
                let zeros = -exponent &- 1
                UnsafeMutableRawPointer(out).storeBytes(of: 0x3030_3030_3030_2E30 as UInt64, as: UInt64.self)  // "0.000000"
                copy24(first, out + (2 &+ zeros))
                return 2 &+ zeros &+ count
            }
            // 1.2345e-07: one digit, the point and the rest if any, "e-NN".
            out[0] = first[0]
            var o = 1
            if count > 1 {
                copy24(first + 1, out + 2)
                out[1] = UInt8(ascii: ".")
                o = count &+ 1
            }
            let magnitude = -exponent  // 5…10 in this range
            out[o] = UInt8(ascii: "e")
            out[o &+ 1] = UInt8(ascii: "-")
            out[o &+ 2] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude / 10)
            out[o &+ 3] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            return o &+ 4
        }
    }

    // Literal tables: the compiler lays them out as constant data (no lazy initialisation on each access).

    /// 5^0 … 5^27 (5^27 < 2^63).
    private static let powersOfFive: [UInt64] = [
        1, 5, 25, 125, 625, 3125, 15625, 78125, 390625, 1953125, 9765625, 48828125, 244140625, 1220703125,
        6103515625, 30517578125, 152587890625, 762939453125, 3814697265625, 19073486328125, 95367431640625,
        476837158203125, 2384185791015625, 11920928955078125, 59604644775390625, 298023223876953125,
        1490116119384765625, 7450580596923828125,
    ]

    /// 10^0 … 10^17.
    private static let powersOfTen: [UInt64] = [
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000, 100000000000,
        1000000000000, 10000000000000, 100000000000000, 1000000000000000, 10000000000000000, 100000000000000000,
    ]

    /// "00", "01", … "99": two digits per division.
    private static let digitPairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
}

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
/// tie when rounding whose neighbours read back, a candidate exactly on the interval's edge (reads back only under round-half-even), a power
/// of two (its interval is narrower below), subnormals, and magnitudes outside the range. So the text is always
/// Swift's, only faster; `ShortestDecimalTests` compares the two on millions of values.
enum ShortestDecimal {
    /// Room ``write(_:to:)`` needs: sign, 17 digits, `0.` and four zeros, or `e-NN`.
    static let capacity = 32

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
            // Whether the 17-digit-scale integer `candidate` reads back as v: |candidate − n/2^s| < ulp/2.
            // `nil`: exactly on the edge.
            func readsBack(_ candidate: UInt64) -> Bool? {
                let scaled = UInt128(candidate) &<< UInt128(s &+ 1)  // < 2^57 · 2^63
                let distance = scaled > twiceN ? scaled &- twiceN : twiceN &- scaled
                if distance == limit { return nil }
                return distance < limit
            }
            // 15 and 16 digits: round floor(v·10^k) + remainder to the nearest multiple of 100 and 10.
            var divisor: UInt64 = 100
            var precision = 15
            while precision < 17 {
                let (q, r) = floor.quotientAndRemainder(dividingBy: divisor)
                let half = divisor / 2
                if r == half && remainder == 0 {
                    // An exact tie (v has 17 digits, the last a 5): it matters only if a neighbour reads back.
                    guard readsBack(q &* divisor) == false, readsBack((q &+ 1) &* divisor) == false else { return nil }
                    divisor /= 10
                    precision &+= 1
                    continue
                }
                let rounded = r >= half ? q &+ 1 : q
                guard let fits = readsBack(rounded &* divisor) else { return nil }
                if fits { return self.trimmed(rounded, count: precision, exponent: exponent) }
                divisor /= 10
                precision &+= 1
            }
            let half = (1 as UInt128) &<< UInt128(s &- 1)
            if remainder == half { return nil }
            let rounded = remainder > half ? floor &+ 1 : floor
            guard readsBack(rounded) == true else { return nil }
            return self.trimmed(rounded, count: 17, exponent: exponent)
        }
        return nil
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
    @inline(__always)
    private static func layout(digits: UInt64, count: Int, exponent: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        // The digits, right-aligned in a 20-byte scratch.
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { raw -> Int in
            let text = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            // Two digits per step, in two independent 8-digit halves (≤ 17 digits: the high half has ≤ 9).
            let pairs = Self.digitPairs.utf8Start
            var i = count
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
            var value = digits
            if count > 8 {
                writeEight(UInt32(truncatingIfNeeded: value % 100_000_000), endingAt: i)
                value /= 100_000_000
                i &-= 8
            }
            while i > 0 {
                i &-= 1
                text[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
                value /= 10
            }
            var o = 0
            if exponent >= 0 {
                let integerDigits = exponent &+ 1
                if count <= integerDigits {
                    out.update(from: text, count: count)
                    o = count
                    while o < integerDigits {
                        out[o] = UInt8(ascii: "0")
                        o &+= 1
                    }
                    out[o] = UInt8(ascii: ".")
                    out[o &+ 1] = UInt8(ascii: "0")
                    return o &+ 2
                }
                out.update(from: text, count: integerDigits)
                out[integerDigits] = UInt8(ascii: ".")
                (out + (integerDigits &+ 1)).update(from: text + integerDigits, count: count &- integerDigits)
                return count &+ 1
            }
            if exponent >= -4 {
                out[0] = UInt8(ascii: "0")
                out[1] = UInt8(ascii: ".")
                o = 2
                var zeros = -exponent &- 1
                while zeros > 0 {
                    out[o] = UInt8(ascii: "0")
                    o &+= 1
                    zeros &-= 1
                }
                (out + o).update(from: text, count: count)
                return o &+ count
            }
            out[0] = text[0]
            o = 1
            if count > 1 {
                out[1] = UInt8(ascii: ".")
                (out + 2).update(from: text + 1, count: count &- 1)
                o = count &+ 1
            }
            let magnitude = -exponent  // 5…12 in this range
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

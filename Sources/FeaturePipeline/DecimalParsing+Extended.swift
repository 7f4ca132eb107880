/// The middle tier of ``DecimalParsing``: inputs with up to 19 significant digits and a power-of-ten scale
/// within ±27 that the exact double-precision fast path cannot take (more than 2^53, e.g. the 17-digit
/// timestamps Python writes, or a scale beyond ±22), converted in x87 80-bit extended precision.
///
/// Why the result is correctly rounded: the mantissa (< 2^64) and 10^k for k ≤ 27 (5^27 < 2^64) are exact
/// in the 64-bit significand, so the one multiplication or division rounds once, to `r` within half an
/// extended ulp of the true value `x`. Rounding `r` to double then gives the correctly rounded `x` unless a
/// double rounding boundary (a midpoint between two doubles, itself exactly representable in extended
/// precision) lies between `x` and `r` or equals `r`; since distinct extended values are a whole extended
/// ulp apart, that can only happen when `r` *is* such a midpoint — its 11 bits below double precision are
/// exactly `0x400` — and then this tier declines and the caller falls back to `strtod`. All values in range
/// (about 1e-27 … 2e46) are normal in both formats.
extension DecimalParsing {
    #if (arch(i386) || arch(x86_64)) && !(os(Windows) || os(Android))
    private static let extendedPowersOfTen: [Float80] = {
        var powers: [Float80] = [1]
        for _ in 1...27 { powers.append(powers[powers.count - 1] * 10) }  // exact: every 10^k ≤ 10^27 fits
        return powers
    }()

    /// `mantissa × 10^scale` correctly rounded, or `nil` when outside this tier's range or undecidable here.
    @inline(__always)
    static func extendedPrecision(mantissa: UInt64, scale: Int) -> Double? {
        guard scale >= -27, scale <= 27 else { return nil }
        let m = Float80(mantissa)
        let r = scale >= 0 ? m * self.extendedPowersOfTen[scale] : m / self.extendedPowersOfTen[-scale]
        guard r.significandBitPattern & 0x7FF != 0x400 else { return nil }
        return Double(r)
    }
    #else
    /// No extended precision on this platform: always defers to `strtod`.
    @inline(__always)
    static func extendedPrecision(mantissa: UInt64, scale: Int) -> Double? { nil }
    #endif
}

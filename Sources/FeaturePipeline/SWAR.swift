/// Eight-bytes-at-a-time ("SIMD within a register") helpers for the string hot loops.
enum SWAR {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Non-zero if any byte of `word` is zero.
    @inline(__always)
    private static func zeroByteMask(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highs
    }

    /// High bit set in each byte of `word` equal to `byte` (exact for the lowest such byte; bytes above a
    /// match may be flagged spuriously, which only matters beyond the first match).
    @inline(__always)
    static func matchMask(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        zeroByteMask(word ^ (ones &* UInt64(byte)))
    }

    /// Non-zero if any byte of `word` equals `byte`.
    @inline(__always)
    static func hasByte(_ word: UInt64, _ byte: UInt8) -> Bool {
        matchMask(word, byte) != 0
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
    }

    /// High bit set in each byte of `word` that may need attention inside a JSON string: `"`, `\\`, a control
    /// character (< 0x20) or a non-ASCII byte. The lowest flagged byte is always a true match.
    @inline(__always)
    static func stringSpecialMask(_ word: UInt64) -> UInt64 {
        // Bytes < 0x20 (exact for ASCII; bytes >= 0x80 are flagged by the high-bit term anyway).
        let control = (word &- ones &* 0x20) & ~word & highs
        return control | (word & highs) | matchMask(word, UInt8(ascii: "\"")) | matchMask(word, UInt8(ascii: "\\"))
    }

    /// Advances past bytes that need no attention inside a JSON string — printable ASCII other than `"` and
    /// `\\` — eight at a time, and returns the index of the first byte that may need attention (or the start
    /// of a final block shorter than eight bytes, which the caller examines byte by byte).
    @inline(__always)
    static func skipPlainStringBytes(_ p: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var i = start
        while i &+ 8 <= count {
            let special = stringSpecialMask(load(p, i))
            if special != 0 {
                // The lowest flagged byte of each mask is a true match, so this is the first special byte.
                return i &+ special.trailingZeroBitCount >> 3
            }
            i &+= 8
        }
        return i
    }
}

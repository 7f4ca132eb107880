/// Decoding of JSON string contents whose escapes were already validated by ``JSONScanner``.
enum JSONUnescaper {
    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt32 {
        if c &- UInt8(ascii: "0") < 10 { return UInt32(c &- UInt8(ascii: "0")) }
        return UInt32((c | 0x20) &- UInt8(ascii: "a")) &+ 10
    }

    @inline(__always)
    static func readHex4(_ p: UnsafePointer<UInt8>) -> UInt32 {
        (hexValue(p[0]) << 12) | (hexValue(p[1]) << 8) | (hexValue(p[2]) << 4) | hexValue(p[3])
    }

    /// The control byte a one-letter escape stands for (`\b \f \n \r \t`), or `nil` for any other letter.
    @inline(__always)
    static func controlEscape(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// Writes the UTF-8 of the validated string body `source[0..<count]` into `destination`, which must have
    /// room for at least `count` bytes (unescaped text is never longer than its escaped form).
    ///
    /// Lone UTF-16 surrogates (legal JSON syntax, not valid Unicode) become U+FFFD.
    /// - Returns: the number of bytes written.
    static func unescape(_ source: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<UInt8>) -> Int {
        var i = 0
        var o = 0
        while i < count {
            // Copy backslash-free runs eight bytes at a time.
            // (o <= i, so an 8-byte store at o stays within the destination's `count` bytes.)
            while i &+ 8 <= count {
                let word = SWAR.load(source, i)
                UnsafeMutableRawPointer(destination + o).storeBytes(of: word.littleEndian, as: UInt64.self)
                let backslash = SWAR.matchMask(word, UInt8(ascii: "\\"))
                if backslash != 0 {
                    let plain = backslash.trailingZeroBitCount >> 3
                    i &+= plain
                    o &+= plain
                    break
                }
                i &+= 8
                o &+= 8
            }
            guard i < count else { break }
            let c = source[i]
            if c != UInt8(ascii: "\\") {
                destination[o] = c
                o &+= 1
                i &+= 1
                continue
            }
            let e = source[i &+ 1]
            i &+= 2
            if let control = controlEscape(e) {
                destination[o] = control
            } else if e == UInt8(ascii: "u") {
                var scalar = readHex4(source + i)
                i &+= 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    if i &+ 6 <= count, source[i] == UInt8(ascii: "\\"), source[i &+ 1] == UInt8(ascii: "u") {
                        let low = readHex4(source + (i &+ 2))
                        if low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 &+ ((scalar &- 0xD800) << 10) &+ (low &- 0xDC00)
                            i &+= 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                o &+= encodeUTF8(scalar, into: destination + o)
                continue
            } else {
                destination[o] = e  // '"', '\\', '/'
            }
            o &+= 1
        }
        return o
    }

    @inline(__always)
    static func encodeUTF8(_ scalar: UInt32, into p: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            p[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            p[0] = UInt8(0xC0 | (scalar >> 6))
            p[1] = UInt8(0x80 | (scalar & 0x3F))
            return 2
        case 0x800..<0x10000:
            p[0] = UInt8(0xE0 | (scalar >> 12))
            p[1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            p[2] = UInt8(0x80 | (scalar & 0x3F))
            return 3
        default:
            p[0] = UInt8(0xF0 | (scalar >> 18))
            p[1] = UInt8(0x80 | ((scalar >> 12) & 0x3F))
            p[2] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            p[3] = UInt8(0x80 | (scalar & 0x3F))
            return 4
        }
    }
}

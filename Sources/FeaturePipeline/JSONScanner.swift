/// The JSON type of a value found by ``JSONScanner``.
enum JSONValueKind: UInt8, Sendable {
    case string
    case number
    case trueLiteral
    case falseLiteral
    case null
    case object
    case array
}

/// Where a scanned value lives in the input bytes.
///
/// For strings `start..<end` excludes the quotes and `hasEscapes` tells whether the raw bytes contain
/// backslash escapes (so they must be unescaped before use). For other kinds it covers the whole value.
struct JSONValueSpan: Sendable {
    var kind: JSONValueKind
    var start: Int
    var end: Int
    var hasEscapes: Bool

    var count: Int { self.end - self.start }
}

/// A validating, allocation-free JSON (RFC 8259) scanner over raw bytes.
///
/// It checks the complete grammar, UTF-8 inside strings and the nesting depth, without building any tree:
/// containers are skipped iteratively with an explicit bracket stack (so hostile nesting cannot overflow the
/// call stack), and callers get ``JSONValueSpan``s pointing into the input for the members they care about.
///
/// Depth counts open containers: the top-level object or array is depth 1.
struct JSONScanner {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    private let maxDepth: Int
    private(set) var index: Int = 0

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.count = count
        self.maxDepth = max(1, maxDepth)
    }

    /// The byte at `index`, or 0 past the end (0 is never valid where a structural byte is expected).
    @inline(__always)
    private func current() -> UInt8 {
        self.index < self.count ? self.base[self.index] : 0
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while self.index < self.count {
            switch self.base[self.index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                self.index &+= 1
            default:
                return
            }
        }
    }

    private func unexpected(_ expected: String) -> RecordError {
        if self.index >= self.count {
            return .parse("unexpected end of input, expected \(expected)", at: self.index)
        }
        return .parse("unexpected byte 0x\(String(self.base[self.index], radix: 16)), expected \(expected)", at: self.index)
    }

    /// Scans a whole document whose top level is expected to be an object, calling `member` for each of its
    /// members (key span, value span) in input order.
    ///
    /// - Returns: `true` if the top-level value was an object, `false` if it was another (valid) JSON value.
    /// - Throws: a `parse_error` ``RecordError`` for any syntax, UTF-8 or depth violation, or trailing data.
    mutating func scanDocument(
        member: (_ key: JSONValueSpan, _ value: JSONValueSpan) throws(RecordError) -> Void
    ) throws(RecordError) -> Bool {
        self.skipWhitespace()
        let isObject: Bool
        if self.current() == UInt8(ascii: "{") {
            isObject = true
            try self.scanTopLevelObject(member: member)
        } else {
            isObject = false
            _ = try self.scanValue(depth: 1)
        }
        self.skipWhitespace()
        guard self.index == self.count else {
            throw .parse("trailing data after the JSON document", at: self.index)
        }
        return isObject
    }

    private mutating func scanTopLevelObject(
        member: (_ key: JSONValueSpan, _ value: JSONValueSpan) throws(RecordError) -> Void
    ) throws(RecordError) {
        self.index &+= 1  // "{"
        self.skipWhitespace()
        if self.current() == UInt8(ascii: "}") {
            self.index &+= 1
            return
        }
        while true {
            self.skipWhitespace()
            guard self.current() == UInt8(ascii: "\"") else { throw self.unexpected("a member name string") }
            let key = try self.scanString()
            self.skipWhitespace()
            guard self.current() == UInt8(ascii: ":") else { throw self.unexpected("':'") }
            self.index &+= 1
            self.skipWhitespace()
            let value = try self.scanValue(depth: 2)
            try member(key, value)
            self.skipWhitespace()
            switch self.current() {
            case UInt8(ascii: ","):
                self.index &+= 1
            case UInt8(ascii: "}"):
                self.index &+= 1
                return
            default:
                throw self.unexpected("',' or '}'")
            }
        }
    }

    /// Scans one value of any kind starting at `index`; `depth` is the depth a container starting here has.
    mutating func scanValue(depth: Int) throws(RecordError) -> JSONValueSpan {
        let start = self.index
        switch self.current() {
        case UInt8(ascii: "\""):
            return try self.scanString()
        case UInt8(ascii: "{"):
            try self.skipContainer(depth: depth)
            return JSONValueSpan(kind: .object, start: start, end: self.index, hasEscapes: false)
        case UInt8(ascii: "["):
            try self.skipContainer(depth: depth)
            return JSONValueSpan(kind: .array, start: start, end: self.index, hasEscapes: false)
        default:
            return try self.scanScalarNonString()
        }
    }

    /// Scans a number or literal (anything but strings and containers).
    private mutating func scanScalarNonString() throws(RecordError) -> JSONValueSpan {
        let start = self.index
        switch self.current() {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try self.scanNumber()
            return JSONValueSpan(kind: .number, start: start, end: self.index, hasEscapes: false)
        case UInt8(ascii: "t"):
            try self.scanLiteral("true")
            return JSONValueSpan(kind: .trueLiteral, start: start, end: self.index, hasEscapes: false)
        case UInt8(ascii: "f"):
            try self.scanLiteral("false")
            return JSONValueSpan(kind: .falseLiteral, start: start, end: self.index, hasEscapes: false)
        case UInt8(ascii: "n"):
            try self.scanLiteral("null")
            return JSONValueSpan(kind: .null, start: start, end: self.index, hasEscapes: false)
        default:
            throw self.unexpected("a JSON value")
        }
    }

    private mutating func scanLiteral(_ literal: StaticString) throws(RecordError) {
        let n = literal.utf8CodeUnitCount
        guard self.count - self.index >= n else { throw .parse("truncated literal", at: self.index) }
        let lit = literal.utf8Start
        for i in 0..<n where self.base[self.index &+ i] != lit[i] {
            throw .parse("invalid literal (expected '\(literal)')", at: self.index)
        }
        self.index &+= n
    }

    @inline(__always)
    private static func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func scanNumber() throws(RecordError) {
        if self.current() == UInt8(ascii: "-") { self.index &+= 1 }
        let first = self.current()
        if first == UInt8(ascii: "0") {
            self.index &+= 1
        } else if Self.isDigit(first) {
            repeat { self.index &+= 1 } while Self.isDigit(self.current())
        } else {
            throw self.unexpected("a digit")
        }
        if self.current() == UInt8(ascii: ".") {
            self.index &+= 1
            guard Self.isDigit(self.current()) else { throw self.unexpected("a digit after '.'") }
            repeat { self.index &+= 1 } while Self.isDigit(self.current())
        }
        let e = self.current()
        if e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            self.index &+= 1
            let sign = self.current()
            if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { self.index &+= 1 }
            guard Self.isDigit(self.current()) else { throw self.unexpected("a digit in the exponent") }
            repeat { self.index &+= 1 } while Self.isDigit(self.current())
        }
    }

    @inline(__always)
    private static func isHex(_ c: UInt8) -> Bool {
        (c &- UInt8(ascii: "0") < 10) || ((c | 0x20) &- UInt8(ascii: "a") < 6)
    }

    /// Scans a string starting at the opening quote, validating escapes, control characters and UTF-8.
    mutating func scanString() throws(RecordError) -> JSONValueSpan {
        self.index &+= 1  // opening quote
        let start = self.index
        var hasEscapes = false
        while true {
            self.index = SWAR.skipPlainStringBytes(self.base, from: self.index, count: self.count)
            guard self.index < self.count else { throw .parse("unterminated string", at: self.index) }
            let c = self.base[self.index]
            if c == UInt8(ascii: "\"") {
                let span = JSONValueSpan(kind: .string, start: start, end: self.index, hasEscapes: hasEscapes)
                self.index &+= 1
                return span
            } else if c == UInt8(ascii: "\\") {
                hasEscapes = true
                let escaped = self.index &+ 1 < self.count ? self.base[self.index &+ 1] : 0
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    self.index &+= 2
                case UInt8(ascii: "u"):
                    guard self.count - self.index >= 6,
                        Self.isHex(self.base[self.index &+ 2]), Self.isHex(self.base[self.index &+ 3]),
                        Self.isHex(self.base[self.index &+ 4]), Self.isHex(self.base[self.index &+ 5])
                    else { throw .parse("invalid \\u escape in string", at: self.index) }
                    self.index &+= 6
                default:
                    throw .parse("invalid escape in string", at: self.index)
                }
            } else if c < 0x20 {
                throw .parse("unescaped control character in string", at: self.index)
            } else if c < 0x80 {
                self.index &+= 1
            } else {
                try self.scanUTF8Sequence(lead: c)
            }
        }
    }

    /// Validates one multi-byte UTF-8 sequence (Unicode table 3-7: no overlongs, surrogates or > U+10FFFF).
    private mutating func scanUTF8Sequence(lead: UInt8) throws(RecordError) {
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw .parse("invalid UTF-8 in string", at: self.index)
        }
        guard self.count - self.index >= length else { throw .parse("truncated UTF-8 sequence", at: self.index) }
        let second = self.base[self.index &+ 1]
        guard second >= low && second <= high else { throw .parse("invalid UTF-8 in string", at: self.index) }
        var i = 2
        while i < length {
            guard self.base[self.index &+ i] & 0xC0 == 0x80 else {
                throw .parse("invalid UTF-8 in string", at: self.index)
            }
            i &+= 1
        }
        self.index &+= length
    }

    private static let objectMarker: UInt8 = 1
    private static let arrayMarker: UInt8 = 2

    /// Skips a whole object or array starting at `index` (which holds `{` or `[`), iteratively.
    private mutating func skipContainer(depth: Int) throws(RecordError) {
        guard depth <= self.maxDepth else {
            throw .parse("JSON nesting deeper than \(self.maxDepth) levels", at: self.index)
        }
        let capacity = self.maxDepth - depth + 1
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { stack throws(RecordError) in
            try self.skipContainer(depth: depth, stack: stack)
        }
    }

    private mutating func skipContainer(depth: Int, stack: UnsafeMutableBufferPointer<UInt8>) throws(RecordError) {
        var top = 0
        stack[0] = self.current() == UInt8(ascii: "{") ? Self.objectMarker : Self.arrayMarker
        self.index &+= 1
        var justOpened = true
        while true {
            // Positioned after an opener or after a ','.
            self.skipWhitespace()
            let inObject = stack[top] == Self.objectMarker
            var closed = false
            if justOpened {
                let c = self.current()
                if (inObject && c == UInt8(ascii: "}")) || (!inObject && c == UInt8(ascii: "]")) {
                    self.index &+= 1
                    closed = true
                }
            }
            if !closed {
                if inObject {
                    guard self.current() == UInt8(ascii: "\"") else { throw self.unexpected("a member name string") }
                    _ = try self.scanString()
                    self.skipWhitespace()
                    guard self.current() == UInt8(ascii: ":") else { throw self.unexpected("':'") }
                    self.index &+= 1
                    self.skipWhitespace()
                }
                let c = self.current()
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                    guard top &+ 1 < stack.count else {
                        throw .parse("JSON nesting deeper than \(self.maxDepth) levels", at: self.index)
                    }
                    top &+= 1
                    stack[top] = c == UInt8(ascii: "{") ? Self.objectMarker : Self.arrayMarker
                    self.index &+= 1
                    justOpened = true
                    continue
                } else if c == UInt8(ascii: "\"") {
                    _ = try self.scanString()
                } else {
                    _ = try self.scanScalarNonString()
                }
            } else {
                // The container at `top` just closed.
                if top == 0 { return }
                top &-= 1
            }
            // After a complete value inside the container at `top`.
            afterValue: while true {
                self.skipWhitespace()
                let c = self.current()
                let inObjectNow = stack[top] == Self.objectMarker
                if c == UInt8(ascii: ",") {
                    self.index &+= 1
                    justOpened = false
                    break afterValue
                } else if (inObjectNow && c == UInt8(ascii: "}")) || (!inObjectNow && c == UInt8(ascii: "]")) {
                    self.index &+= 1
                    if top == 0 { return }
                    top &-= 1
                } else {
                    throw self.unexpected(inObjectNow ? "',' or '}'" : "',' or ']'")
                }
            }
        }
    }
}

/// Decoding of JSON string contents whose escapes were already validated by ``JSONScanner``.
enum JSONUnescaper {
    @inline(__always)
    private static func hexValue(_ c: UInt8) -> UInt32 {
        if c &- UInt8(ascii: "0") < 10 { return UInt32(c &- UInt8(ascii: "0")) }
        return UInt32((c | 0x20) &- UInt8(ascii: "a")) &+ 10
    }

    private static func readHex4(_ p: UnsafePointer<UInt8>) -> UInt32 {
        (hexValue(p[0]) << 12) | (hexValue(p[1]) << 8) | (hexValue(p[2]) << 4) | hexValue(p[3])
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
            switch e {
            case UInt8(ascii: "b"): destination[o] = 0x08
            case UInt8(ascii: "f"): destination[o] = 0x0C
            case UInt8(ascii: "n"): destination[o] = 0x0A
            case UInt8(ascii: "r"): destination[o] = 0x0D
            case UInt8(ascii: "t"): destination[o] = 0x09
            case UInt8(ascii: "u"):
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
            default: destination[o] = e  // '"', '\\', '/'
            }
            o &+= 1
        }
        return o
    }

    private static func encodeUTF8(_ scalar: UInt32, into p: UnsafeMutablePointer<UInt8>) -> Int {
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

    /// Advances past bytes that need no attention inside a JSON string — printable ASCII other than `"` and
    /// `\\` — eight at a time, and returns the index of the first byte that may need attention (or the start
    /// of a final block shorter than eight bytes, which the caller examines byte by byte).
    @inline(__always)
    static func skipPlainStringBytes(_ p: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var i = start
        while i &+ 8 <= count {
            let word = load(p, i)
            // Bytes < 0x20 (exact for ASCII; bytes >= 0x80 are flagged by the high-bit term anyway).
            let control = (word &- ones &* 0x20) & ~word & highs
            let special = control | (word & highs) | matchMask(word, UInt8(ascii: "\"")) | matchMask(word, UInt8(ascii: "\\"))
            if special != 0 {
                // The lowest flagged byte of each mask is a true match, so this is the first special byte.
                return i &+ special.trailingZeroBitCount >> 3
            }
            i &+= 8
        }
        return i
    }
}

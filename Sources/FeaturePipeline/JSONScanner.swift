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
    // The one-byte fields come last so that the span packs into 24 bytes (``RecordFields`` holds twelve).
    var start: Int
    var end: Int
    var kind: JSONValueKind
    var hasEscapes: Bool

    @inline(__always)
    init(kind: JSONValueKind, start: Int, end: Int, hasEscapes: Bool) {
        self.start = start
        self.end = end
        self.kind = kind
        self.hasEscapes = hasEscapes
    }

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
    let base: UnsafePointer<UInt8>
    let count: Int
    private let maxDepth: Int
    var index: Int = 0
    /// Where to unescape one top-level member's string value while scanning it, if anywhere.
    private let capture: JSONStringCapture?
    /// The unescaped length of the last top-level member named `capture.memberName`, when that member's value
    /// was a string (its bytes are at `capture.destination`); `nil` otherwise.
    private(set) var capturedLength: Int?
    /// Whether the value of the last top-level member named `capture.memberName` was a string holding a flat
    /// object that ``scanNestedFlatObject(into:)`` read in place, its members now at `capture.members` (then
    /// ``capturedLength`` is `nil`).
    private(set) var capturedMembers = false

    /// - Parameter capture: a member of the top-level object whose string value is unescaped during the scan
    ///   (ignored unless `capture.capacity >= count`).
    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int, capture: JSONStringCapture? = nil) {
        self.base = base
        self.count = count
        self.maxDepth = max(1, maxDepth)
        self.capture = capture.flatMap { $0.capacity >= count ? $0 : nil }
    }

    /// The byte at `index`, or 0 past the end (0 is never valid where a structural byte is expected).
    @inline(__always)
    func current() -> UInt8 {
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
            let value: JSONValueSpan
            if let capture = self.capture, self.keyEquals(key, capture.memberName) {
                // What an earlier member of that name captured no longer counts (the last one wins).
                self.capturedLength = nil
                self.capturedMembers = false
                if self.current() == UInt8(ascii: "\"") {
                    if let span = self.scanNestedFlatObject(into: capture.members) {
                        value = span
                        self.capturedMembers = true
                    } else {
                        let scanned = try self.scanString(unescapingInto: capture.destination)
                        value = scanned.span
                        self.capturedLength = scanned.length
                    }
                } else {
                    value = try self.scanValue(depth: 2)
                }
            } else {
                value = try self.scanValue(depth: 2)
            }
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
    mutating func scanScalarNonString() throws(RecordError) -> JSONValueSpan {
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
    static func isHex(_ c: UInt8) -> Bool {
        (c &- UInt8(ascii: "0") < 10) || ((c | 0x20) &- UInt8(ascii: "a") < 6)
    }

    /// Scans a string starting at the opening quote, validating escapes, control characters and UTF-8.
    @inline(__always)
    mutating func scanString() throws(RecordError) -> JSONValueSpan {
        self.index &+= 1  // opening quote
        let start = self.index
        // Fast path for the common short, plain string: the first byte needing attention is the closing
        // quote, taken from the loaded word rather than re-read from memory.
        while self.index &+ 8 <= self.count {
            let word = SWAR.load(self.base, self.index)
            let special = SWAR.stringSpecialMask(word)
            if special == 0 {
                self.index &+= 8
                continue
            }
            let shift = special.trailingZeroBitCount & ~7
            self.index &+= shift >> 3
            if UInt8(truncatingIfNeeded: word >> UInt64(shift)) == UInt8(ascii: "\"") {
                let span = JSONValueSpan(kind: .string, start: start, end: self.index, hasEscapes: false)
                self.index &+= 1
                return span
            }
            break
        }
        return try self.scanStringRest(start: start)
    }

    /// The general string loop of ``scanString()``, from `index` (inside the string that began at `start`).
    private mutating func scanStringRest(start: Int) throws(RecordError) -> JSONValueSpan {
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
                if escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") {
                    // The common case (JSON nested in a string), tested first to avoid a jump table.
                    self.index &+= 2
                    continue
                }
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
    mutating func scanUTF8Sequence(lead: UInt8) throws(RecordError) {
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

/// The fast path for an ingestor envelope's `raw` member: a flat JSON object written inside a JSON string, read
/// in place, without unescaping it first and without a second pass over the unescaped copy.
///
/// It handles only the usual form of such a string, where the one escape is `\"` (the quotes of the nested
/// document) and everything else is printable ASCII, e.g. `"{\"type\":\"ticker\",\"price\":\"103472.28\",
/// \"trade_id\":900701309}"`: an object whose member values are strings without escapes, numbers or literals,
/// with spaces as the only whitespace. For any other string — another escape, a control or non-ASCII byte,
/// a nested container, anything not valid — it gives up, leaving the string to ``scanString(unescapingInto:)``
/// and the nested document to a second ``ScannedObject``, which validate it and report errors exactly as
/// without this fast path. It never throws: it accepts only strings that the general path would accept, and
/// then its spans cover the same bytes the general path's spans would (a nested string without escapes reads
/// the same escaped or not), so decoding gives the same result either way.
extension JSONScanner {
    /// Scans the string value starting at `index` (its opening quote) as a flat JSON object, as described
    /// above, and records in `members` (reset first) the members the decoder understands, with spans relative
    /// to ``base``.
    ///
    /// - Returns: the string's span (as ``scanString()`` gives it), with `index` after the string; or `nil`,
    ///   with `index` unchanged and `members` to be ignored, when the string is not of the simple form.
    mutating func scanNestedFlatObject(into members: UnsafeMutablePointer<RecordFields>) -> JSONValueSpan? {
        let opening = self.index
        self.index = opening &+ 1
        members.initialize(to: RecordFields())  // (`members` may be uninitialized; RecordFields is a trivial type)
        guard let memberCount = self.scanNestedFlatObjectBody(into: &members.pointee),
            self.index < self.count, self.base[self.index] == UInt8(ascii: "\"")
        else {
            self.index = opening
            return nil
        }
        // The only escapes are the `\"` around member names, so there are escapes iff there are members.
        let span = JSONValueSpan(kind: .string, start: opening &+ 1, end: self.index, hasEscapes: memberCount > 0)
        self.index &+= 1
        return span
    }

    /// The object itself, up to the closing quote of the string; the number of members, or `nil` to give up.
    private mutating func scanNestedFlatObjectBody(into members: inout RecordFields) -> Int? {
        self.skipSpaces()
        guard self.current() == UInt8(ascii: "{") else { return nil }
        self.index &+= 1
        self.skipSpaces()
        var memberCount = 0
        if self.current() == UInt8(ascii: "}") {
            self.index &+= 1
        } else {
            while true {
                guard let key = self.scanNestedString() else { return nil }
                self.skipSpaces()
                guard self.current() == UInt8(ascii: ":") else { return nil }
                self.index &+= 1
                self.skipSpaces()
                let value: JSONValueSpan
                switch self.current() {
                case UInt8(ascii: "\\"):
                    guard let string = self.scanNestedString() else { return nil }
                    value = string
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"):
                    // Numbers and literals contain no quote or backslash: the same bytes escaped or not.
                    guard let scalar = try? self.scanScalarNonString() else { return nil }
                    value = scalar
                default:
                    return nil  // containers (and anything invalid) take the general path
                }
                members.record(key: self.base + key.start, count: key.count, value: value)
                memberCount &+= 1
                self.skipSpaces()
                let c = self.current()
                self.index &+= 1
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { return nil }
                self.skipSpaces()
            }
        }
        self.skipSpaces()
        return memberCount
    }

    /// A nested string `\"…\"` at `index` whose contents are printable ASCII other than `"` and `\`; its span
    /// covers the contents. `nil` for anything else.
    @inline(__always)
    private mutating func scanNestedString() -> JSONValueSpan? {
        guard self.count &- self.index >= 2, self.base[self.index] == UInt8(ascii: "\\"),
            self.base[self.index &+ 1] == UInt8(ascii: "\"")
        else { return nil }
        let start = self.index &+ 2
        var i = SWAR.skipPlainStringBytes(self.base, from: start, count: self.count)
        while i < self.count, Self.isPlainStringByte(self.base[i]) { i &+= 1 }
        guard self.count &- i >= 2, self.base[i] == UInt8(ascii: "\\"), self.base[i &+ 1] == UInt8(ascii: "\"")
        else { return nil }
        self.index = i &+ 2
        return JSONValueSpan(kind: .string, start: start, end: i, hasEscapes: false)
    }

    /// Printable ASCII other than `"` and `\`: a byte that stands for itself in a JSON string.
    @inline(__always)
    private static func isPlainStringByte(_ c: UInt8) -> Bool {
        c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\")
    }

    /// Inside a string, a space is the only whitespace that stands for itself (`\t`, `\n`, `\r` are escapes).
    @inline(__always)
    private mutating func skipSpaces() {
        while self.index < self.count, self.base[self.index] == UInt8(ascii: " ") { self.index &+= 1 }
    }
}

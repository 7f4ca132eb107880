/// Where ``JSONScanner`` unescapes the string value of one top-level member while validating it.
///
/// Used for the ingestor envelope's `raw` member, a JSON document escaped inside a string: validating and
/// unescaping it in the same pass saves a second pass over its bytes.
struct JSONStringCapture {
    /// The member whose string value is captured, compared with the member name after unescaping.
    let memberName: StaticString
    /// Where the unescaped bytes go.
    let destination: UnsafeMutablePointer<UInt8>
    /// Room at `destination`; the scanner ignores a capture with less room than the whole scanned input.
    let capacity: Int
    /// Where the members of a flat object in the string go when the scan can read it in place, instead of
    /// unescaping it (see ``JSONScanner/scanNestedFlatObject(into:)``).
    let members: UnsafeMutablePointer<RecordFields>
}

extension JSONScanner {
    /// Whether the member name in `key` equals `name` after unescaping.
    @inline(__always)
    func keyEquals(_ key: JSONValueSpan, _ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        guard key.hasEscapes else {
            return key.count == n && Self.bytesEqual(self.base + key.start, name.utf8Start, n)
        }
        return self.escapedKeyEquals(key, name)
    }

    /// ``keyEquals(_:_:)`` for a member name with escapes (rare).
    @inline(never)
    private func escapedKeyEquals(_ key: JSONValueSpan, _ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        // An escaped name is never shorter than its unescaped form.
        guard key.count >= n else { return false }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: key.count) { buffer in
            guard let out = buffer.baseAddress else { return false }
            let length = JSONUnescaper.unescape(self.base + key.start, count: key.count, into: out)
            return length == n && Self.bytesEqual(UnsafePointer(out), name.utf8Start, n)
        }
    }

    @inline(__always)
    private static func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var i = 0
        while i < count {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }

    /// Scans a string starting at its opening quote exactly like ``scanString()`` — same validation, same
    /// errors at the same offsets — and in the same pass writes its contents, unescaped as
    /// ``JSONUnescaper/unescape(_:count:into:)`` does, to `destination`.
    ///
    /// `destination` must have room for `count - index` bytes: plain runs are copied a whole 8-byte word at a
    /// time, possibly past the string's end, and unescaped text is never longer than its escaped form.
    /// - Returns: the string's span in the input and the number of unescaped bytes written.
    mutating func scanString(
        unescapingInto destination: UnsafeMutablePointer<UInt8>
    ) throws(RecordError) -> (span: JSONValueSpan, length: Int) {
        var i = self.index &+ 1  // after the opening quote
        let start = i
        let end = self.count
        let base = self.base
        var o = 0
        var hasEscapes = false
        defer { self.index = i }
        while true {
            // The main loop for long strings: one iteration per 8-byte word, however many escapes it holds.
            // The word is copied to the output as is; then each `\"`, `\\` or `\/` in it, lowest first, is
            // unescaped by storing the word's bytes after the backslash again, one byte lower (the escaped byte
            // lands where the backslash was, the rest follow it). Anything else that needs attention (the
            // closing quote, another escape, a control or non-ASCII byte, an escape split across words, or a
            // byte flagged spuriously by the mask) ends the loop at that byte, for the loops below. Not having
            // to re-load the word after each escape matters: JSON nested in a string has one every ~7 bytes.
            // `i + 16 <= end` keeps the shifted stores (at most 7 bytes further on than the word's own) within
            // the destination (o <= i - start).
            wordLoop: while i &+ 16 <= end {
                let word = SWAR.load(base, i)
                let out = destination + o
                UnsafeMutableRawPointer(out).storeBytes(of: word.littleEndian, as: UInt64.self)
                var special = SWAR.stringSpecialMask(word)
                var dropped = 0  // backslashes removed so far from this word
                while special != 0 {
                    let shift = special.trailingZeroBitCount & ~7
                    let p = shift >> 3
                    let e = UInt8(truncatingIfNeeded: word >> UInt64(shift &+ 8))
                    guard UInt8(truncatingIfNeeded: word >> UInt64(shift)) == UInt8(ascii: "\\"), p < 7,
                        e == UInt8(ascii: "\"") || e == UInt8(ascii: "\\") || e == UInt8(ascii: "/")
                    else {
                        i &+= p
                        o &+= p &- dropped
                        if dropped > 0 { hasEscapes = true }
                        break wordLoop
                    }
                    UnsafeMutableRawPointer(out + (p &- dropped))
                        .storeBytes(of: (word >> UInt64(shift &+ 8)).littleEndian, as: UInt64.self)
                    dropped &+= 1
                    // Done with the backslash and the escaped byte (itself flagged when it is `"` or `\`).
                    special &= ~(UInt64(0x8080) &<< UInt64(shift))
                }
                if dropped > 0 { hasEscapes = true }
                i &+= 8
                o &+= 8 &- dropped
            }
            // The last 8 to 15 bytes before the end of the input (only there: elsewhere the byte loop below
            // handles what ended the word loop, then the word loop resumes). Copy plain bytes a word at a time
            // (o <= i - start, so the store stays within the destination), and handle `\"`, `\\` and `\/`
            // right here, reading them from the loaded word.
            while i &+ 8 <= end, i &+ 16 > end {
                let word = SWAR.load(base, i)
                UnsafeMutableRawPointer(destination + o).storeBytes(of: word.littleEndian, as: UInt64.self)
                let special = SWAR.stringSpecialMask(word)
                if special == 0 {
                    i &+= 8
                    o &+= 8
                    continue
                }
                let shift = special.trailingZeroBitCount & ~7
                i &+= shift >> 3
                o &+= shift >> 3
                guard UInt8(truncatingIfNeeded: word >> UInt64(shift)) == UInt8(ascii: "\\"), shift < 56 else { break }
                let e = UInt8(truncatingIfNeeded: word >> UInt64(shift &+ 8))
                guard e == UInt8(ascii: "\"") || e == UInt8(ascii: "\\") || e == UInt8(ascii: "/") else { break }
                hasEscapes = true
                destination[o] = e
                o &+= 1
                i &+= 2
            }
            guard i < end else { throw .parse("unterminated string", at: i) }
            let c = base[i]
            if c == UInt8(ascii: "\\") {
                hasEscapes = true
                let e = i &+ 1 < end ? base[i &+ 1] : 0
                if e == UInt8(ascii: "\"") || e == UInt8(ascii: "\\") || e == UInt8(ascii: "/") {
                    destination[o] = e
                    o &+= 1
                    i &+= 2
                    continue
                }
                if let control = JSONUnescaper.controlEscape(e) {
                    destination[o] = control
                } else if e == UInt8(ascii: "u") {
                    guard let scalar = Self.hex4(base, at: i &+ 2, end: end) else {
                        throw .parse("invalid \\u escape in string", at: i)
                    }
                    i &+= 6
                    o &+= JSONUnescaper.encodeUTF8(Self.combineSurrogates(scalar, base, &i, end: end), into: destination + o)
                    continue
                } else {
                    throw .parse("invalid escape in string", at: i)
                }
                o &+= 1
                i &+= 2
            } else if c == UInt8(ascii: "\"") {
                i &+= 1
                return (JSONValueSpan(kind: .string, start: start, end: i &- 1, hasEscapes: hasEscapes), o)
            } else if c < 0x20 {
                throw .parse("unescaped control character in string", at: i)
            } else if c < 0x80 {
                destination[o] = c
                o &+= 1
                i &+= 1
            } else {
                self.index = i
                try self.scanUTF8Sequence(lead: c)
                while i < self.index {
                    destination[o] = base[i]
                    o &+= 1
                    i &+= 1
                }
            }
        }
    }

    /// The value of four hex digits at `p[at..<at+4]`, or `nil` if they are not all hex digits or run past `end`.
    @inline(__always)
    private static func hex4(_ p: UnsafePointer<UInt8>, at: Int, end: Int) -> UInt32? {
        guard end &- at >= 4, isHex(p[at]), isHex(p[at &+ 1]), isHex(p[at &+ 2]), isHex(p[at &+ 3]) else {
            return nil
        }
        return JSONUnescaper.readHex4(p + at)
    }

    /// The scalar for a decoded `\u` escape, as ``JSONUnescaper`` maps it: a high surrogate followed by a
    /// `\u` low surrogate combine (advancing `i` past the second escape); any other surrogate becomes U+FFFD.
    /// A following `\u` escape that is not valid is left for the caller to reject.
    @inline(__always)
    private static func combineSurrogates(_ scalar: UInt32, _ p: UnsafePointer<UInt8>, _ i: inout Int, end: Int) -> UInt32 {
        guard scalar >= 0xD800 && scalar < 0xE000 else { return scalar }
        guard scalar < 0xDC00, end &- i >= 6, p[i] == UInt8(ascii: "\\"), p[i &+ 1] == UInt8(ascii: "u"),
            let low = hex4(p, at: i &+ 2, end: end), low >= 0xDC00 && low < 0xE000
        else { return 0xFFFD }
        i &+= 6
        return 0x10000 &+ ((scalar &- 0xD800) << 10) &+ (low &- 0xDC00)
    }
}

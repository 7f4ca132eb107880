/// The JSON token writing shared by ``JSONByteWriter`` (appends to a byte array) and ``JSONPointerWriter``
/// (writes into memory the caller sized in advance). Used by ``PredictionEncoder`` on the hot path.
///
/// Doubles are written in Swift's shortest round-trip form (`Double.description` digits, e.g. `103472.28`,
/// `1e-05`, `1.0`), which is always a valid JSON number for finite values; non-finite values become `null`.
/// Most are written by ``ShortestDecimal``, the rest through `TextOutputStream._writeASCII`; no intermediate
/// `String` is created either way.
protocol JSONWriting: TextOutputStream {
    mutating func appendByte(_ byte: UInt8)
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer)
    /// Lets `write` put up to `room` bytes straight into the output and returns what it returned (the count it
    /// wrote, or `nil` for nothing written). Writers without that room at hand give it a scratch buffer.
    mutating func appendInPlace(room: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int?) -> Int?
}

extension JSONWriting {
    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { self.appendBytes(UnsafeRawBufferPointer($0)) }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.appendBytes(UnsafeRawBufferPointer(buffer))
    }

    @inline(__always)
    mutating func append(_ literal: StaticString) {
        self.appendBytes(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.appendBytes($0) }
    }

    mutating func appendNumber(_ value: Double) {
        guard value.isFinite else {
            self.append("null")
            return
        }
        // ``ShortestDecimal`` writes the standard library's text several times faster; where it declines, the
        // standard library writes it.
        if self.appendInPlace(room: ShortestDecimal.capacity, { ShortestDecimal.write(value, to: $0) }) == nil {
            value.write(to: &self)
        }
    }

    mutating func appendInPlace(room: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int?) -> Int? {
        self.appendThroughScratch(room: room, write)
    }

    /// ``appendInPlace(room:_:)`` through a scratch buffer of ``ShortestDecimal/capacity`` bytes at most (the only
    /// caller's need), then copied.
    mutating func appendThroughScratch(room: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int?) -> Int? {
        precondition(room <= ShortestDecimal.capacity, "appendInPlace: room beyond the scratch buffer")
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ShortestDecimal.capacity) { scratch -> Int? in
            guard let count = write(scratch.baseAddress!) else { return nil }
            self.appendBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: scratch[0..<count])))
            return count
        }
    }

    mutating func appendInteger<I: BinaryInteger>(_ value: I) {
        if value < 0 {
            self.appendByte(UInt8(ascii: "-"))
        }
        var magnitude = UInt64(value.magnitude)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, enough for 20 digits
        withUnsafeMutableBytes(of: &digits) { scratch in
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            self.appendBytes(UnsafeRawBufferPointer(rebasing: scratch[i...]))
        }
    }

    /// Appends a quoted, escaped JSON string.
    mutating func appendString(_ string: String) {
        self.appendByte(UInt8(ascii: "\""))
        var utf8 = string.utf8
        if let done: Void = utf8.withContiguousStorageIfAvailable({ self.appendEscaped($0) }) {
            _ = done
        } else {
            utf8 = string.utf8
            for byte in utf8 { self.appendEscaped(byte) }
        }
        self.appendByte(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ buffer: UnsafeBufferPointer<UInt8>) {
        // Runs of bytes that need no escaping are copied in one piece.
        var runStart = 0
        for i in 0..<buffer.count where Self.needsEscape(buffer[i]) {
            if i > runStart { self.appendBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[runStart..<i]))) }
            self.appendEscaped(buffer[i])
            runStart = i + 1
        }
        if buffer.count > runStart {
            self.appendBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[runStart..<buffer.count])))
        }
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    @inline(__always)
    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): self.append("\\\"")
        case UInt8(ascii: "\\"): self.append("\\\\")
        case 0x0A: self.append("\\n")
        case 0x0D: self.append("\\r")
        case 0x09: self.append("\\t")
        case 0x08: self.append("\\b")
        case 0x0C: self.append("\\f")
        case 0..<0x20:
            let hex: StaticString = "0123456789abcdef"
            self.append("\\u00")
            self.appendByte(hex.utf8Start[Int(byte >> 4)])
            self.appendByte(hex.utf8Start[Int(byte & 0x0F)])
        default:
            self.appendByte(byte)
        }
    }
}

/// Appends JSON tokens to a growing byte array (any output size).
struct JSONByteWriter: JSONWriting {
    var bytes: [UInt8] = []

    @inline(__always)
    mutating func appendByte(_ byte: UInt8) {
        self.bytes.append(byte)
    }

    @inline(__always)
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        self.bytes.append(contentsOf: bytes)
    }
}

/// Writes JSON tokens into memory the caller has sized for the whole output: no capacity or uniqueness checks
/// per token (the caller computes an upper bound first; see ``PredictionEncoder``).
struct JSONPointerWriter: JSONWriting {
    private let start: UnsafeMutablePointer<UInt8>
    private var cursor: UnsafeMutablePointer<UInt8>
    private let end: UnsafeMutablePointer<UInt8>

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.start = buffer.baseAddress!
        self.cursor = self.start
        self.end = self.start + buffer.count
    }

    /// Bytes written so far.
    var count: Int { self.cursor - self.start }

    @inline(__always)
    mutating func appendByte(_ byte: UInt8) {
        precondition(self.cursor < self.end, "JSONPointerWriter: output bound exceeded")
        self.cursor.pointee = byte
        self.cursor += 1
    }

    /// Straight at the cursor when `room` bytes are left (the encoder's bound leaves room for it), else through a
    /// scratch buffer.
    @inline(__always)
    mutating func appendInPlace(room: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int?) -> Int? {
        guard self.end - self.cursor >= room else { return self.appendThroughScratch(room: room, write) }
        guard let count = write(self.cursor) else { return nil }
        precondition(count <= room, "JSONPointerWriter: wrote past the room it asked for")
        self.cursor += count
        return count
    }

    @inline(__always)
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        precondition(self.end - self.cursor >= bytes.count, "JSONPointerWriter: output bound exceeded")
        guard let source = bytes.baseAddress else { return }
        UnsafeMutableRawPointer(self.cursor).copyMemory(from: source, byteCount: bytes.count)
        self.cursor += bytes.count
    }
}

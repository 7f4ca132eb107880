/// Appends JSON tokens to a byte array. Used by ``PredictionEncoder`` on the hot path.
///
/// Doubles are written in Swift's shortest round-trip form (`Double.description` digits, e.g. `103472.28`,
/// `1e-05`, `1.0`), which is always a valid JSON number for finite values; non-finite values become `null`.
/// Writing goes through `TextOutputStream._writeASCII`, so no intermediate `String` is created.
struct JSONByteWriter: TextOutputStream {
    var bytes: [UInt8] = []

    mutating func write(_ string: String) {
        self.bytes.append(contentsOf: string.utf8)
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.bytes.append(contentsOf: buffer)
    }

    @inline(__always)
    mutating func append(_ literal: StaticString) {
        self.bytes.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        self.bytes.append(contentsOf: bytes)
    }

    mutating func appendNumber(_ value: Double) {
        guard value.isFinite else {
            self.append("null")
            return
        }
        value.write(to: &self)
    }

    mutating func appendInteger<I: BinaryInteger>(_ value: I) {
        if value < 0 {
            self.bytes.append(UInt8(ascii: "-"))
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
            self.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[i...]))
        }
    }

    /// Appends a quoted, escaped JSON string.
    mutating func appendString(_ string: String) {
        self.bytes.append(UInt8(ascii: "\""))
        var utf8 = string.utf8
        if let done: Void = utf8.withContiguousStorageIfAvailable({ self.appendEscaped($0) }) {
            _ = done
        } else {
            utf8 = string.utf8
            for byte in utf8 { self.appendEscaped(byte) }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ buffer: UnsafeBufferPointer<UInt8>) {
        for byte in buffer { self.appendEscaped(byte) }
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
            self.bytes.append(hex.utf8Start[Int(byte >> 4)])
            self.bytes.append(hex.utf8Start[Int(byte & 0x0F)])
        default:
            self.bytes.append(byte)
        }
    }
}

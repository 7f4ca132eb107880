/// One scanned JSON object: its bytes plus the spans of the members the decoder understands.
///
/// Provides the typed accessors the decoder needs, each throwing a `schema_error` that names the field
/// when the JSON type is wrong.
struct ScannedObject {
    let base: UnsafePointer<UInt8>
    private(set) var fields = RecordFields()
    /// The unescaped length of the captured member's string value (see ``JSONScanner/capturedLength``).
    private(set) var capturedLength: Int? = nil
    /// Whether the captured member's string value held a flat object that the scan read in place, its members
    /// now at the capture's `members` (see ``JSONScanner/capturedMembers``); that object needs no second scan.
    private(set) var capturedMembers = false

    /// Scans `count` bytes as one JSON document whose top level must be an object.
    ///
    /// - Parameters:
    ///   - context: the enclosing field for nested documents (e.g. `raw`), used in error messages.
    ///   - capture: a top-level member whose string value is unescaped while it is validated.
    init(
        scanning base: UnsafePointer<UInt8>,
        count: Int,
        maxDepth: Int,
        context: StaticString?,
        capture: JSONStringCapture? = nil
    ) throws(RecordError) {
        guard count > 0 else {
            if let context { throw .parse("field '\(context)' is an empty string, expected a JSON object", at: 0) }
            throw .parse("empty record", at: 0)
        }
        var scanner = JSONScanner(base: base, count: count, maxDepth: maxDepth, capture: capture)
        self.base = base
        let isObject: Bool
        do {
            isObject = try scanner.scanDocument { (key, value) throws(RecordError) in
                if key.hasEscapes {
                    Self.recordEscapedKey(key, value: value, base: base, into: &self.fields)
                } else {
                    // Recorded straight into `self.fields`, saving a copy of the ~300-byte fields at the end.
                    self.fields.record(key: base + key.start, count: key.count, value: value)
                }
            }
        } catch {
            guard let context else { throw error }
            throw RecordError(type: error.type, reason: "in the JSON string of field '\(context)': \(error.reason)")
        }
        guard isObject else {
            if let context { throw .schema("field '\(context)' does not contain a JSON object") }
            throw .schema("top-level JSON value is not an object")
        }
        self.capturedLength = scanner.capturedLength
        self.capturedMembers = scanner.capturedMembers
    }

    /// Records a member whose name has escapes (rare; kept out of the inlined member loop).
    @inline(never)
    private static func recordEscapedKey(
        _ key: JSONValueSpan, value: JSONValueSpan, base: UnsafePointer<UInt8>, into fields: inout RecordFields
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(key.count, 1)) { buffer in
            guard let out = buffer.baseAddress else { return }
            let n = JSONUnescaper.unescape(base + key.start, count: key.count, into: out)
            fields.record(key: UnsafePointer(out), count: n, value: value)
        }
    }

    /// An object without members: the envelope of a record that has none (so its lookups all find nothing).
    /// (Cheaper than an optional envelope, which costs copies of the whole ~300-byte object.)
    init(noMembersAt base: UnsafePointer<UInt8>) {
        self.base = base
    }

    /// An object already scanned: `fields` with spans relative to `base`.
    init(base: UnsafePointer<UInt8>, fields: RecordFields) {
        self.base = base
        self.fields = fields
    }

    /// Calls `body` with the UTF-8 bytes of a string value, unescaped if needed (on the stack when small).
    @inline(__always)
    func withStringBytes<R>(
        _ span: JSONValueSpan,
        _ body: (UnsafeBufferPointer<UInt8>) throws(RecordError) -> R
    ) throws(RecordError) -> R {
        guard span.hasEscapes else {
            return try body(UnsafeBufferPointer(start: self.base + span.start, count: span.count))
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(span.count, 1)) {
            (buffer) throws(RecordError) -> R in
            guard let out = buffer.baseAddress else { throw .schema("no scratch memory for unescaping") }
            let n = JSONUnescaper.unescape(self.base + span.start, count: span.count, into: out)
            return try body(UnsafeBufferPointer(start: out, count: n))
        }
    }

    /// Whether the string value equals `literal` exactly (after unescaping).
    func string(_ span: JSONValueSpan, equals literal: StaticString) -> Bool {
        // Cannot throw: the body does not throw.
        let result: Bool? = try? self.withStringBytes(span) { (bytes) throws(RecordError) -> Bool in
            guard bytes.count == literal.utf8CodeUnitCount else { return false }
            let lit = literal.utf8Start
            for i in 0..<bytes.count where bytes[i] != lit[i] { return false }
            return true
        }
        return result ?? false
    }

    /// A required numeric field: a JSON number or a decimal string.
    func number(_ span: JSONValueSpan, field: StaticString) throws(RecordError) -> Double {
        switch span.kind {
        case .number:
            return DecimalParsing.parseJSONNumber(self.base + span.start, count: span.count)
        case .string:
            if !span.hasEscapes,
                let value = DecimalParsing.parseDecimalString(self.base + span.start, count: span.count)
            {
                return value
            }
            throw .schema("field '\(field)' is a string that is not a decimal number")
        case .null:
            throw .schema("field '\(field)' is null, expected a number or decimal string")
        default:
            throw .schema("field '\(field)' is not a number or decimal string")
        }
    }

    /// An optional numeric field: absent or `null` gives `nil`; any other non-numeric value is an error.
    func optionalNumber(_ span: JSONValueSpan?, field: StaticString) throws(RecordError) -> Double? {
        guard let span, span.kind != .null else { return nil }
        return try self.number(span, field: field)
    }

    /// An event-time field given as epoch seconds (number or decimal string) or as an ISO 8601 string.
    /// Absent or `null` gives `nil`.
    func epochSeconds(_ span: JSONValueSpan?, field: StaticString) throws(RecordError) -> Double? {
        guard let span, span.kind != .null else { return nil }
        switch span.kind {
        case .number:
            return DecimalParsing.parseJSONNumber(self.base + span.start, count: span.count)
        case .string:
            return try self.withStringBytes(span) { (bytes) throws(RecordError) -> Double in
                guard let p = bytes.baseAddress else {
                    throw .schema("field '\(field)' is an empty string, expected a time")
                }
                if let value = DecimalParsing.parseDecimalString(p, count: bytes.count)
                    ?? ISO8601Parsing.epochSeconds(p, count: bytes.count)
                {
                    return value
                }
                throw .schema("field '\(field)' is not epoch seconds or an ISO 8601 time")
            }
        default:
            throw .schema("field '\(field)' is not epoch seconds or an ISO 8601 time")
        }
    }

    /// A non-empty string field converted to `String`. Absent or `null` gives `nil`.
    func optionalString(_ span: JSONValueSpan?, field: StaticString) throws(RecordError) -> String? {
        guard let span, span.kind != .null else { return nil }
        guard span.kind == .string else { throw .schema("field '\(field)' is not a string") }
        guard span.count > 0 else { throw .schema("field '\(field)' is an empty string") }
        return try self.withStringBytes(span) { (bytes) throws(RecordError) -> String in
            String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// One of the further output topics a handler may publish to besides the prediction and dead-letter topics
/// (shadow predictions, realised outcomes): its position in ``StreamTopics/extra``.
public struct ExtraTopic: Hashable, Sendable {
    public let index: Int

    public init(_ index: Int) {
        self.index = index
    }
}

/// Outputs of one input record beyond its main output, written by the handler and produced by the driver.
///
/// The driver keeps one instance and clears it before every record, so once it has grown to the largest record's
/// needs, appending allocates nothing: keys and values are copied back to back into one byte buffer and each
/// output is a few integers. The input's offset is committed only after every output is acknowledged.
public struct ExtraOutputs {
    struct Entry {
        var topic: ExtraTopic
        var keyStart: Int
        var valueStart: Int
        var end: Int
    }

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []

    public init() {}

    /// Outputs appended since the last ``removeAll()``.
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Forgets every output, keeping the capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Adds one output with `key` and `value` (both copied) for `topic`.
    public mutating func append(topic: ExtraTopic, key: String, value: UnsafeRawBufferPointer) {
        let keyStart = bytes.count
        var key = key
        key.withUTF8 { bytes.append(contentsOf: $0) }
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        entries.append(Entry(topic: topic, keyStart: keyStart, valueStart: valueStart, end: bytes.count))
    }

    /// Adds one output with `key` and `value` (both copied) for `topic`.
    public mutating func append(topic: ExtraTopic, key: String, value: [UInt8]) {
        value.withUnsafeBytes { append(topic: topic, key: key, value: $0) }
    }

    /// The topic, key and value of output `index` (valid until the next mutation).
    public func withOutput<Result>(
        at index: Int, _ body: (ExtraTopic, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result
    ) -> Result {
        let entry = entries[index]
        return bytes.withUnsafeBytes { all in
            body(
                entry.topic,
                UnsafeRawBufferPointer(rebasing: all[entry.keyStart..<entry.valueStart]),
                UnsafeRawBufferPointer(rebasing: all[entry.valueStart..<entry.end])
            )
        }
    }
}

/// An output record handed to the producer and not yet acknowledged.
struct OutputRecord: Equatable, Sendable {
    var partition: Int32
    var generation: UInt32
    var sequence: Int
    var kind: OutputKind
    var sourceTimestamp: Double?
    var producedAtNanos: UInt64
    /// When a failed delivery is produced again (`nil` while it is with the producer).
    var retryDueNanos: UInt64? = nil
    var backoffNanos: UInt64 = 0
}

/// A slab of in-flight records addressed by a small integer that travels through librdkafka as the per-message
/// opaque, so the delivery report finds its input without any allocation per record.
struct InflightTable {
    private var slots: [OutputRecord?] = []
    private var free: [Int] = []
    private(set) var count = 0

    mutating func insert(_ record: OutputRecord) -> Int {
        count += 1
        if let index = free.popLast() {
            slots[index] = record
            return index
        }
        slots.append(record)
        return slots.count - 1
    }

    /// Replaces the record in an occupied slot (retry bookkeeping).
    mutating func update(_ index: Int, _ body: (inout OutputRecord) -> Void) {
        guard index >= 0, index < slots.count, var record = slots[index] else { return }
        body(&record)
        slots[index] = record
    }

    func peek(_ index: Int) -> OutputRecord? {
        guard index >= 0, index < slots.count else { return nil }
        return slots[index]
    }

    mutating func remove(_ index: Int) -> OutputRecord? {
        guard index >= 0, index < slots.count, let record = slots[index] else { return nil }
        slots[index] = nil
        free.append(index)
        count -= 1
        return record
    }

    /// The opaque pointer value for a slot (never null).
    static func opaque(for index: Int) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer(bitPattern: index + 1)
    }

    static func index(from opaque: UnsafeMutableRawPointer?) -> Int {
        Int(bitPattern: opaque) - 1
    }
}

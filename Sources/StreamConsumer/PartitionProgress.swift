/// The at-least-once watermark of one assigned partition.
///
/// Offsets are registered in the order they are consumed and completed in any order (delivery reports arrive out
/// of order across output partitions). ``committableOffset`` only moves past an offset once it and every offset
/// consumed before it are complete, so a crash can only repeat work, never skip it.
public struct PartitionProgress: Sendable {
    /// Distinguishes this assignment from earlier ones, so a late delivery report for a revoked partition
    /// does not touch the new assignment's state.
    public let generation: UInt32
    private var offsets: [Int64] = []
    private var done: [Bool] = []
    /// Index into `offsets` of the oldest incomplete entry.
    private var head = 0
    /// Sequence number of `offsets[0]`.
    private var base = 0
    /// The next offset to commit (last completed contiguous offset + 1), or `nil` before anything completed.
    public private(set) var committableOffset: Int64?
    /// Whether ``committableOffset`` moved since ``takeDirty()`` was last called.
    public private(set) var isDirty = false

    public init(generation: UInt32) {
        self.generation = generation
    }

    /// Number of registered offsets not yet complete or behind an incomplete one.
    public var pendingCount: Int { offsets.count - head }

    /// Registers a consumed offset; returns its sequence number for ``complete(sequence:)``.
    public mutating func register(offset: Int64) -> Int {
        offsets.append(offset)
        done.append(false)
        return base + offsets.count - 1
    }

    /// Marks a registered offset complete and advances the watermark over every complete prefix.
    public mutating func complete(sequence: Int) {
        let index = sequence - base
        guard index >= head, index < offsets.count else { return }
        done[index] = true
        guard index == head else { return }
        while head < offsets.count, done[head] {
            committableOffset = offsets[head] + 1
            head += 1
            isDirty = true
        }
        compactIfWorthwhile()
    }

    /// Returns the watermark if it moved since the last call.
    public mutating func takeDirty() -> Int64? {
        guard isDirty else { return nil }
        isDirty = false
        return committableOffset
    }

    private mutating func compactIfWorthwhile() {
        if head == offsets.count {
            base += offsets.count
            offsets.removeAll(keepingCapacity: true)
            done.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096, head * 2 >= offsets.count {
            base += head
            offsets.removeFirst(head)
            done.removeFirst(head)
            head = 0
        }
    }
}

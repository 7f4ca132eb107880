/// The at-least-once watermark of one assigned partition.
///
/// Offsets are registered in the order they are consumed and completed in any order (delivery reports arrive out
/// of order across output partitions). ``committableOffset`` only moves past an offset once it and every offset
/// consumed before it are complete, so a crash can only repeat work, never skip it.
///
/// An input may have several outputs (a prediction, a shadow output, an outcome, a dead letter): a registered
/// offset waits for one completion unless ``expectOutputs(sequence:count:)`` says how many.
public struct PartitionProgress: Sendable, Equatable {
    /// Distinguishes this assignment from earlier ones, so a late delivery report for a revoked partition
    /// does not touch the new assignment's state.
    public let generation: UInt32
    private var offsets: [Int64] = []
    /// Completions each registered offset still waits for (0 = complete).
    private var remaining: [UInt16] = []
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
        remaining.append(1)
        return base + offsets.count - 1
    }

    /// One more completion for a registered, not yet completed offset to wait for (an output was created).
    public mutating func addPending(sequence: Int) {
        let index = sequence - base
        guard index >= head, index < offsets.count, remaining[index] > 0, remaining[index] < UInt16.max else { return }
        remaining[index] += 1
    }

    /// Sets how many completions a registered, not yet completed offset waits for; 0 completes it at once.
    public mutating func expectOutputs(sequence: Int, count: Int) {
        let index = sequence - base
        guard index >= head, index < offsets.count, remaining[index] > 0 else { return }
        remaining[index] = UInt16(clamping: max(count, 0))
        if remaining[index] == 0 { advance(from: index) }
    }

    /// Counts one completion of a registered offset; when it needs no more, advances the watermark over every
    /// complete prefix.
    public mutating func complete(sequence: Int) {
        let index = sequence - base
        guard index >= head, index < offsets.count, remaining[index] > 0 else { return }
        remaining[index] -= 1
        if remaining[index] == 0 { advance(from: index) }
    }

    private mutating func advance(from index: Int) {
        guard index == head else { return }
        while head < offsets.count, remaining[head] == 0 {
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
            remaining.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096, head * 2 >= offsets.count {
            base += head
            offsets.removeFirst(head)
            remaining.removeFirst(head)
            head = 0
        }
    }
}

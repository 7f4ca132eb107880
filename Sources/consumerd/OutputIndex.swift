import Foundation
import StreamConsumer

#if canImport(Glibc)
import Glibc
#endif

/// What the output topics hold for one input offset.
struct OutputSlot {
    var outputCount: Int = 0
    var deadLetterCount: Int = 0
    /// More distinct output copies arrived than a slot stores (``OutputIndex/storedCopies``); the extra ones are
    /// counted but not compared.
    var uncheckedCopies = false
    /// Dead letters of this input disagree on their error type.
    var deadLetterTypesDiffer = false
    /// The first dead letter's error type (an index into the auditor's table of error types).
    var deadLetterType: UInt8 = 0
    /// The distinct output copies (identical repeats are only counted).
    var copies: [OutputCopy] = []

    var isEmpty: Bool { outputCount == 0 && deadLetterCount == 0 }
}

/// The outputs and dead letters found for every input offset, in a scratch file with one fixed-size slot per
/// input offset (partition by partition, low to high watermark), read back in offset order by the replay.
///
/// Why a file of slots: the audit must join two streams that arrive in different orders — outputs by output
/// partition (keyed by product), inputs by input partition and offset. Input offsets are dense between the
/// watermarks, so the offset is the slot's address: no sort, no hash map, and memory that does not grow with the
/// topics (the kernel's page cache holds the file, the process does not; it is read and written with
/// pread/pwrite, never mapped, so it is not part of the process's resident set). Hand-written because no
/// package in the mirror offers a disk-backed table; it is ~150 lines of fixed layout. The file is unlinked as
/// soon as it is created, so it disappears with the process however that ends.
///
/// Slot layout (little-endian): output count u16, dead-letter count u16, flags u8, dead-letter type u8, stored
/// copies u8, one spare byte, then ``storedCopies`` × 64-byte ``OutputCopy``.
final class OutputIndex {
    enum Failure: Error, CustomStringConvertible {
        case scratchFile(path: String, operation: String, reason: String)

        var description: String {
            switch self {
            case .scratchFile(let path, let operation, let reason):
                "audit scratch file \(path): \(operation) failed: \(reason) (set TMPDIR to a directory with room)"
            }
        }
    }

    /// Distinct copies kept per input: two covers an at-least-once repeat across one model switch.
    static let storedCopies = 2
    static let slotSize = 8 + storedCopies * OutputCopy.byteCount

    private let descriptor: Int32
    private let path: String
    /// First slot of each input partition, and its extent.
    private var bases: [Int32: (slot: Int64, extent: PartitionExtent)] = [:]
    let slotCount: Int64

    init(inputs: [PartitionExtent], directory: String = NSTemporaryDirectory()) throws(Failure) {
        var next: Int64 = 0
        for extent in inputs {
            bases[extent.partition] = (next, extent)
            next += extent.count
        }
        slotCount = next
        path = (directory as NSString).appendingPathComponent("consumerd-audit-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).slots")
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .scratchFile(path: path, operation: "create", reason: String(cString: strerror(errno))) }
        unlink(path)
        // Sparse: slots never written read as zeros (nothing published for that offset).
        guard ftruncate(descriptor, off_t(next) * off_t(Self.slotSize)) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw .scratchFile(path: path, operation: "size", reason: reason)
        }
    }

    deinit { close(descriptor) }

    /// The slot number of an input offset, or `nil` when the input topic does not hold it (an orphan).
    func slot(partition: Int32, offset: Int64) -> Int64? {
        guard let base = bases[partition], offset >= base.extent.low, offset < base.extent.high else { return nil }
        return base.slot + offset - base.extent.low
    }

    /// Records an output copy for the input at `slot`.
    func addOutput(slot: Int64, _ copy: OutputCopy) throws(Failure) {
        try update(slot) { slot in
            slot.outputCount += 1
            if slot.copies.contains(copy) { return }
            if slot.copies.count < Self.storedCopies { slot.copies.append(copy) } else { slot.uncheckedCopies = true }
        }
    }

    /// Records a dead letter of error type `type` for the input at `slot`.
    func addDeadLetter(slot: Int64, type: UInt8) throws(Failure) {
        try update(slot) { slot in
            if slot.deadLetterCount == 0 { slot.deadLetterType = type } else if slot.deadLetterType != type { slot.deadLetterTypesDiffer = true }
            slot.deadLetterCount += 1
        }
    }

    private func update(_ number: Int64, _ change: (inout OutputSlot) -> Void) throws(Failure) {
        // withUnsafe…Bytes rethrows untyped errors: the typed one is carried out by hand.
        var bytes = [UInt8](repeating: 0, count: Self.slotSize)
        let failure: Failure? = bytes.withUnsafeMutableBytes { buffer in
            do throws(Failure) {
                try transfer(buffer, at: number, write: false)
                var slot = Self.decode(UnsafeRawBufferPointer(buffer), at: 0)
                change(&slot)
                Self.encode(slot, into: buffer, at: 0)
                try transfer(buffer, at: number, write: true)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Reads `slots` consecutive slots from `first` into `buffer` (sized `slots × slotSize`).
    func read(first: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(Failure) {
        try transfer(buffer, at: first, write: false)
    }

    private func transfer(_ buffer: UnsafeMutableRawBufferPointer, at slot: Int64, write: Bool) throws(Failure) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let position = off_t(slot) * off_t(Self.slotSize) + off_t(done)
            let result = write
                ? pwrite(descriptor, base + done, buffer.count - done, position)
                : pread(descriptor, base + done, buffer.count - done, position)
            if result < 0 {
                if errno == EINTR { continue }
                throw .scratchFile(path: path, operation: write ? "write" : "read", reason: String(cString: strerror(errno)))
            }
            if result == 0 {
                // Reading past the end cannot happen for slots inside the file; treat as empty.
                memset(base + done, 0, buffer.count - done)
                return
            }
            done += result
        }
    }

    static func decode(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> OutputSlot {
        var slot = OutputSlot()
        slot.outputCount = Int(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        slot.deadLetterCount = Int(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)))
        let flags = buffer[offset + 4]
        slot.uncheckedCopies = flags & 1 != 0
        slot.deadLetterTypesDiffer = flags & 2 != 0
        slot.deadLetterType = buffer[offset + 5]
        let stored = min(Int(buffer[offset + 6]), storedCopies)
        for index in 0..<stored {
            slot.copies.append(OutputCopy(reading: buffer, at: offset + 8 + index * OutputCopy.byteCount))
        }
        return slot
    }

    static func encode(_ slot: OutputSlot, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        // Counts saturate: 65,535 copies of one output say "duplicated" as clearly as more would.
        buffer.storeBytes(of: UInt16(min(slot.outputCount, 65_535)).littleEndian, toByteOffset: offset, as: UInt16.self)
        buffer.storeBytes(of: UInt16(min(slot.deadLetterCount, 65_535)).littleEndian, toByteOffset: offset + 2, as: UInt16.self)
        buffer[offset + 4] = (slot.uncheckedCopies ? 1 : 0) | (slot.deadLetterTypesDiffer ? 2 : 0)
        buffer[offset + 5] = slot.deadLetterType
        buffer[offset + 6] = UInt8(slot.copies.count)
        for (index, copy) in slot.copies.prefix(storedCopies).enumerated() {
            copy.write(to: buffer, at: offset + 8 + index * OutputCopy.byteCount)
        }
    }

    /// Reads one input partition's slots in offset order, a chunk at a time.
    struct Cursor {
        let index: OutputIndex
        let extent: PartitionExtent
        private let base: Int64
        private var chunk: [UInt8]
        private var chunkStart: Int64 = -1
        private var chunkSlots = 0
        static let chunkSlots = 1024

        init(index: OutputIndex, partition: Int32) {
            self.index = index
            let entry = index.bases[partition]
            self.base = entry?.slot ?? 0
            self.extent = entry?.extent ?? PartitionExtent(partition: partition, low: 0, high: 0)
            self.chunk = [UInt8](repeating: 0, count: Self.chunkSlots * OutputIndex.slotSize)
        }

        /// The slot of `offset` (which must lie in the partition's extent); offsets are visited in increasing
        /// order, so each chunk is read once.
        mutating func slot(at offset: Int64) throws(Failure) -> OutputSlot {
            let relative = offset - extent.low
            if chunkStart < 0 || relative < chunkStart || relative >= chunkStart + Int64(chunkSlots) {
                chunkStart = relative - relative % Int64(Self.chunkSlots)
                chunkSlots = Int(min(Int64(Self.chunkSlots), extent.count - chunkStart))
                let slots = chunkSlots
                let first = base + chunkStart
                let index = self.index
                let failure: Failure? = chunk.withUnsafeMutableBytes { buffer in
                    do throws(Failure) {
                        try index.read(first: first, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(slots * OutputIndex.slotSize)]))
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { throw failure }
            }
            let at = Int(relative - chunkStart) * OutputIndex.slotSize
            return chunk.withUnsafeBytes { OutputIndex.decode($0, at: at) }
        }
    }
}

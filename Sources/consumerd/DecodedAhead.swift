import FeaturePipeline
import StreamConsumer

/// Storage for records decoded ahead (``PredictionHandler/prepare(_:in:)``): one place per ``PreparedSlot``, in
/// one fixed buffer, so that the processing thread writing a slot of the batch it collects and the handler's
/// thread reading a slot of the batch it decides never touch the same memory, nor a shared array header that
/// copy-on-write or exclusivity checks would make them contend for.
final class DecodedAhead: @unchecked Sendable {
    // Unchecked: each slot belongs to one batch, and a batch is used by one thread at a time, handed over with
    // the stage's semaphores (see `HandlerStage`); the buffer itself is never reallocated.
    private let slots: UnsafeMutableBufferPointer<Result<DecodedRecord, RecordError>>

    init() {
        slots = .allocate(capacity: PreparedSlot.batches * PreparedSlot.capacity)
        slots.initialize(repeating: .success(.control))
    }

    func write(_ decoded: Result<DecodedRecord, RecordError>, at slot: PreparedSlot) {
        slots[slot.offset] = decoded
    }

    /// The slot's record, leaving a placeholder (releasing the product id and any error text at once).
    func take(at slot: PreparedSlot) -> Result<DecodedRecord, RecordError> {
        let decoded = slots[slot.offset]
        slots[slot.offset] = .success(.control)
        return decoded
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
}

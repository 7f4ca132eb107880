import FeaturePipeline
import Synchronization

/// Hands a freshly loaded ``ModelSet`` from the loader to the processing thread, which takes it between two
/// records: each record is scored by exactly one complete set, and the hot path pays one atomic load per record.
final class ModelSwitchboard: Sendable {
    private let pending = Mutex<ModelSet?>(nil)
    private let hasPending = Atomic<Bool>(false)

    /// Makes `set` the one the next record is scored with (a later offer before then replaces it).
    func offer(_ set: ModelSet) {
        pending.withLock { $0 = set }
        hasPending.store(true, ordering: .releasing)
    }

    /// The set offered since the last call, if any (processing thread).
    @inline(__always)
    func take() -> ModelSet? {
        guard hasPending.load(ordering: .acquiring) else { return nil }
        hasPending.store(false, ordering: .releasing)
        return pending.withLock { set in
            defer { set = nil }
            return set
        }
    }
}

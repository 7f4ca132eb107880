import FeaturePipeline
import Synchronization

/// What the processing thread puts in force between two records: the models, and the quality monitoring that
/// belongs to them (the new active model's reference: drift window and label threshold).
struct ModelSwitch: Sendable {
    var set: ModelSet
    var quality: QualityConfiguration.Resolved
}

/// Hands a freshly loaded ``ModelSwitch`` from the loader to the processing thread, which takes it between two
/// records: each record is scored by exactly one complete set, and the hot path pays one atomic load per record.
final class ModelSwitchboard: Sendable {
    private let pending = Mutex<ModelSwitch?>(nil)
    private let hasPending = Atomic<Bool>(false)

    /// Makes `next` the one the next record is scored with (a later offer before then replaces it).
    func offer(_ next: ModelSwitch) {
        pending.withLock { $0 = next }
        hasPending.store(true, ordering: .releasing)
    }

    /// The set offered since the last call, if any (processing thread).
    @inline(__always)
    func take() -> ModelSwitch? {
        guard hasPending.load(ordering: .acquiring) else { return nil }
        hasPending.store(false, ordering: .releasing)
        return pending.withLock { set in
            defer { set = nil }
            return set
        }
    }
}

import FeaturePipeline

/// Each input partition's ``RecordPipeline``, by partition number.
///
/// Partition numbers are small and dense (0 up to the topic's partition count), so they index an array: the
/// handler looks its pipeline up twice per record, and hashing an `Int32` key for a dictionary cost ~2.5 % of the
/// handler thread (`perf`). Numbers outside the dense range (negative, or from ``denseLimit`` on) go to a
/// dictionary, so any `Int32` works.
struct PartitionPipelines {
    /// Partitions below this are kept in the array (it grows only up to the highest partition seen: at most a few
    /// MiB of inline pipelines).
    static let denseLimit: Int32 = 8_192

    private var dense: [RecordPipeline?] = []
    private var sparse: [Int32: RecordPipeline] = [:]

    /// The pipeline of `partition`, created from `template` on first use.
    subscript(partition: Int32, default template: @autoclosure () -> RecordPipeline) -> RecordPipeline {
        get {
            if partition >= 0, partition < Self.denseLimit {
                let index = Int(partition)
                return index < dense.count ? dense[index] ?? template() : template()
            }
            return sparse[partition] ?? template()
        }
        _modify {
            guard partition >= 0, partition < Self.denseLimit else {
                yield &sparse[partition, default: template()]
                return
            }
            let index = Int(partition)
            if index >= dense.count { dense.append(contentsOf: repeatElement(nil, count: index - dense.count + 1)) }
            if dense[index] == nil { dense[index] = template() }
            // In place: the element itself is yielded (never nil here). Moving it out into a local and back made
            // Swift copy it on the way back, every reference in it retained and released per record.
            yield &dense[index]!
        }
    }

    /// Forgets the pipeline of `partition` (its state goes with it).
    mutating func remove(_ partition: Int32) {
        if partition >= 0, partition < Self.denseLimit {
            if Int(partition) < dense.count { dense[Int(partition)] = nil }
        } else {
            sparse[partition] = nil
        }
    }

    /// Applies `body` to every partition's pipeline.
    mutating func updateAll(_ body: (inout RecordPipeline) -> Void) {
        // In place, as the subscript yields them (taking one out and putting it back copies it).
        for index in dense.indices where dense[index] != nil { body(&dense[index]!) }
        for index in sparse.indices { body(&sparse.values[index]) }
    }

    /// Products held across all partitions.
    var productCount: Int {
        var total = 0
        for index in dense.indices { total += dense[index]?.productCount ?? 0 }
        for pipeline in sparse.values { total += pipeline.productCount }
        return total
    }
}

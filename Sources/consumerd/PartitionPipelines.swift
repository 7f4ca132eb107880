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
    /// Products held across all partitions, kept up to date as pipelines change (see ``productCount``).
    private var products = 0

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
                let before = sparse[partition]?.productCount ?? 0
                yield &sparse[partition, default: template()]
                products += (sparse[partition]?.productCount ?? 0) - before
                return
            }
            let index = Int(partition)
            if index >= dense.count { dense.append(contentsOf: repeatElement(nil, count: index - dense.count + 1)) }
            if dense[index] == nil { dense[index] = template() }
            // In place: the element itself is yielded (never nil here). Moving it out into a local and back made
            // Swift copy it on the way back, every reference in it retained and released per record.
            // The product count is read before and after, while the pipeline is in cache; summing every
            // partition's for the gauge missed the cache ~3 times per partition (~20 µs per sum, 0.5 % of B's
            // samples in `profile.sh` when it was summed every 256 records).
            let before = dense[index]!.productCount
            yield &dense[index]!
            products += dense[index]!.productCount - before
        }
    }

    /// Forgets the pipeline of `partition` (its state goes with it).
    mutating func remove(_ partition: Int32) {
        if partition >= 0, partition < Self.denseLimit {
            if Int(partition) < dense.count {
                products -= dense[Int(partition)]?.productCount ?? 0
                dense[Int(partition)] = nil
            }
        } else {
            products -= sparse.removeValue(forKey: partition)?.productCount ?? 0
        }
    }

    /// Applies `body` to every partition's pipeline.
    mutating func updateAll(_ body: (inout RecordPipeline) -> Void) {
        // In place, as the subscript yields them (taking one out and putting it back copies it).
        for index in dense.indices where dense[index] != nil { body(&dense[index]!) }
        for index in sparse.indices { body(&sparse.values[index]) }
        products = Self.sum(dense: dense, sparse: sparse)
    }

    /// Products held across all partitions.
    var productCount: Int { products }

    private static func sum(dense: [RecordPipeline?], sparse: [Int32: RecordPipeline]) -> Int {
        var total = 0
        for index in dense.indices { total += dense[index]?.productCount ?? 0 }
        for pipeline in sparse.values { total += pipeline.productCount }
        return total
    }
}

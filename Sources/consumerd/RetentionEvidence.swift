import StreamConsumer

/// Whether a missing output can be explained by the broker's retention of one output topic (the predictions or
/// the dead letters), from what the topic still holds.
///
/// The rule. An input's output goes to the output partition `q` its key chooses (predictions are keyed by product
/// id, dead letters by the input's key), computed with the producer's own partitioner (librdkafka's
/// `consistent_random` unless `KAFKA_PRODUCER_CONF_PARTITIONER` says otherwise; ``KeyPartitioner``). A missing
/// output of input `(p, o)` is **truncated** when `q`'s low watermark is above 0 and either
///
/// 1. `q` still holds outputs of input partition `p` and the first of them (lowest output offset) names an input
///    offset `f > o`; or
/// 2. `q` holds no output of input partition `p` at all.
///
/// Otherwise it is **lost**. Why (1) is sound: a daemon handles a partition in offset order and its producer
/// appends to `q` in that order, so within one run the outputs of `p` in `q` have increasing source offsets. If
/// `o > f` and `o`'s output had been appended before the first survivor (and then deleted), the survivor —
/// naming `f < o` — was written by a later run that restarted from a committed position at or below `f`; that
/// run (or a later one) handled `o` again and appended its output after the survivor, where retention has not
/// reached: it would be there. So for `o > f` the output could not have been deleted and its absence is a loss;
/// for `o < f` the output, if it was ever written, can only have been in the deleted part. Case (2) is where
/// the audit is blind: with every output of `p` in `q` deleted, a loss there cannot be told from retention; the
/// report counts these verdicts apart (``Verdict/truncatedUnverifiable``). A record with no key (or the `random` partitioner) could be in
/// any partition: it is truncated when any partition allows it. The rule assumes the topic's partition count has
/// not changed since the outputs were written (a changed count moves keys).
struct RetentionEvidence {
    let partitioner: KeyPartitioner?
    /// Each partition's extent, read before the topic was streamed.
    let extents: [PartitionExtent]
    /// First source offset of input partition p seen in output partition q (reading q in offset order), keyed by
    /// `q << 32 | p`. At most (output partitions × input partitions) entries.
    private var firstSource: [Int64: Int64] = [:]

    init(partitioner: KeyPartitioner?, extents: [PartitionExtent]) {
        self.partitioner = partitioner
        self.extents = extents
    }

    /// Partitions whose oldest records retention removed, as `partition from low`.
    var truncatedPartitions: [String] {
        extents.filter { $0.low > 0 }.map { "\($0.partition) from \($0.low)" }
    }

    private static func key(_ q: Int32, _ p: Int32) -> Int64 { Int64(q) << 32 | Int64(UInt32(bitPattern: p)) }

    /// Called for every output read, in each output partition's offset order.
    mutating func saw(outputPartition q: Int32, sourcePartition p: Int32, sourceOffset o: Int64) {
        let key = Self.key(q, p)
        if firstSource[key] == nil { firstSource[key] = o }
    }

    enum Verdict: Equatable {
        case lost
        /// Rule 1: the output, if written, can only have been in the deleted part.
        case truncated
        /// Rule 2: the partition holds nothing of the input partition any more; a loss could not be seen.
        case truncatedUnverifiable
    }

    /// What the absence of input `(p, o)`'s output, whose record key is `key`, means.
    func verdict(sourcePartition p: Int32, sourceOffset o: Int64, key: UnsafeRawBufferPointer?) -> Verdict {
        let target = partitioner?.partition(forKey: key, partitionCount: Int32(extents.count))
        let candidates = target.map { q in extents.filter { $0.partition == q } } ?? extents
        var verdict = Verdict.lost
        for extent in candidates where extent.low > 0 {
            guard let first = firstSource[Self.key(extent.partition, p)] else {
                verdict = .truncatedUnverifiable
                continue
            }
            if o < first { return .truncated }
        }
        return verdict
    }
}

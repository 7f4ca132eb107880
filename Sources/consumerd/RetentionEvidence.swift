import StreamConsumer

/// Whether a missing output can be explained by the broker's retention of one output topic (the predictions or
/// the dead letters), from what the topic still holds.
///
/// The rule. An input's output goes to the output partition `q` its key chooses (predictions are keyed by product
/// id, dead letters by the input's key), computed with the producer's own partitioner (librdkafka's
/// `consistent_random` unless `KAFKA_PRODUCER_CONF_PARTITIONER` says otherwise; ``KeyPartitioner``). When `q`'s
/// low watermark is 0, nothing was deleted and a missing output is **lost**. Otherwise the missing output of input
/// `(p, o)` is **lost** when `q` still holds an output of input partition `p` naming a source offset below `o`,
/// and **truncated** when it does not.
///
/// Why that is sound. The run (daemon instance) that wrote the surviving output of `(p, s)`, `s < o`, handles `p`
/// in offset order from there, and its producer appends to `q` in that order: it wrote `o`'s output after the
/// survivor, where retention has not reached. If it stopped before `o`, nothing past `o` was committed (an offset
/// is committed only after its outputs are acknowledged), so a later run resumed at or below `o` and wrote `o`'s
/// output later still. Either way the output would be there: its absence is a loss. When every surviving output
/// of `p` in `q` names an offset above `o`, `o`'s output — if it was ever written — can only have been in the
/// deleted part. When `q` holds no output of `p` at all the audit is blind there (a loss cannot be told from
/// deletion): truncated, counted apart (``Verdict/truncatedUnverifiable``). A record with no key (or the `random`
/// partitioner) could be in any partition: truncated when any partition allows it.
///
/// Limits: the rule assumes the topic's partition count has not changed since the outputs were written (a changed
/// count moves keys). A run that lost its partitions while its outputs were still in flight (a zombie, appended
/// after the next owner's) can make a truncated output look lost — a false alarm, never a hidden loss.
struct RetentionEvidence {
    let partitioner: KeyPartitioner?
    /// Each partition's extent, read before the topic was streamed.
    let extents: [PartitionExtent]
    /// Lowest source offset of input partition p among the outputs output partition q still holds, keyed by
    /// `q << 32 | p`. At most (output partitions × input partitions) entries.
    private var lowestSource: [Int64: Int64] = [:]

    init(partitioner: KeyPartitioner?, extents: [PartitionExtent]) {
        self.partitioner = partitioner
        self.extents = extents
    }

    /// Partitions whose oldest records retention removed, as `partition from low`.
    var truncatedPartitions: [String] {
        extents.filter { $0.low > 0 }.map { "\($0.partition) from \($0.low)" }
    }

    private static func key(_ q: Int32, _ p: Int32) -> Int64 { Int64(q) << 32 | Int64(UInt32(bitPattern: p)) }

    /// Called for every output read.
    mutating func saw(outputPartition q: Int32, sourcePartition p: Int32, sourceOffset o: Int64) {
        let key = Self.key(q, p)
        lowestSource[key] = min(lowestSource[key] ?? .max, o)
    }

    enum Verdict: Equatable {
        case lost
        /// Every surviving output of the input partition in the output partition names a later offset: the
        /// output, if written, can only have been in the deleted part.
        case truncated
        /// The output partition holds nothing of the input partition any more; a loss could not be seen.
        case truncatedUnverifiable
    }

    /// What the absence of input `(p, o)`'s output, whose record key is `key`, means.
    func verdict(sourcePartition p: Int32, sourceOffset o: Int64, key: UnsafeRawBufferPointer?) -> Verdict {
        let target = partitioner?.partition(forKey: key, partitionCount: Int32(extents.count))
        let candidates = target.map { q in extents.filter { $0.partition == q } } ?? extents
        var verdict = Verdict.lost
        for extent in candidates where extent.low > 0 {
            guard let lowest = lowestSource[Self.key(extent.partition, p)] else {
                verdict = .truncatedUnverifiable
                continue
            }
            if lowest > o { return .truncated }
        }
        return verdict
    }
}

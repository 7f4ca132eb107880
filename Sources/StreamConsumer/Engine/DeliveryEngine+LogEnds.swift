/// Which partitions' log ends the driver looks up for `lag_records` (``EngineDriver/refreshLogEnds(now:)``).
///
/// librdkafka 2.0.2 refreshes a partition's cached high watermark (what the scrape reads) only from fetch
/// responses, so the lag of a partition that is not being fetched would read as it was when fetching stopped:
/// 0 for a partition that stopped at its end while records kept arriving. Those are the partitions whose ends are
/// looked up; one that keeps delivering has a fresh cached watermark.
extension DeliveryEngine {
    /// The active partitions that are paused, or from which librdkafka has delivered nothing (no record, no
    /// end-of-partition) for `silentNanos`, in order. With every broker down (`brokersReachable` false) every
    /// active partition: the fetch watch keeps their silence from counting meanwhile, and the first answer is
    /// how the driver learns a broker is back when no record arrives to say so (an idle input).
    func logEndsWanted(now: UInt64, silentNanos: UInt64, brokersReachable: Bool) -> [Int32] {
        guard lifecycle == .running else { return [] }
        var wanted: [Int32] = []
        for (id, state) in partitions where state.phase == .active {
            let silent = now >= state.heardNanos && now - state.heardNanos >= silentNanos
            if !brokersReachable || state.fetchPaused || silent { wanted.append(id) }
        }
        return wanted.sorted()
    }

    /// Of `wanted` (``logEndsWanted(now:silentNanos:brokersReachable:)``), the partitions whose lag counts from
    /// the log start (with `auto.offset.reset` earliest): nothing handled and nothing committed, so no position to
    /// count from — one librdkafka never started fetching has no low watermark from a fetch either. Asked on
    /// every look-up, not once: retention moves the start while such a partition delivers nothing, and a start
    /// read once would count the deleted records as lag. Not those whose committed-offset look-up failed
    /// (``PartitionState/startUnknown``): where librdkafka reads them from is unknown.
    func logStartsWanted(among wanted: [Int32]) -> [Int32] {
        wanted.filter { id in
            guard let state = partitions[id] else { return false }
            return state.position == nil && !state.startUnknown
        }
    }
}

/// Where a partition's state rebuild starts: decided here without I/O, executed by ``StateRebuilder``.
///
/// The state needs the last `reachSeconds` of event time before the resume point `end`. Where the broker
/// answers ListOffsets by time, the rebuild starts at the offset for (the last record's Kafka timestamp − reach
/// − a margin). ListOffsets searches Kafka record timestamps, not the payload's event time, so the first
/// replayed record is checked: if its event time is not old enough the start steps back. Without a time
/// look-up (librdkafka's mock cluster) it reaches back `maxRecords` records. `maxRecords` also caps the time
/// based start (bounded work after every assignment).
struct RebuildPlan: Equatable, Sendable {
    var end: Int64
    var low: Int64
    var maxRecords: Int
    var reachSeconds: Double?

    /// Extra event time read beyond the reach, for clock differences between producers and the broker.
    static var marginSeconds: Double { 5 }

    /// The count-based start, and the earliest any start may be.
    var floor: Int64 { max(low, end - Int64(max(maxRecords, 0))) }

    /// Whether there is anything to replay at all.
    var isEmpty: Bool { maxRecords <= 0 || floor >= end }

    /// The Kafka timestamp to look up, from the timestamp of the record before `end`; `nil` without a reach.
    func lookUpTimestampMs(lastRecordTimestampMs: Int64) -> Int64? {
        guard let reachSeconds else { return nil }
        return lastRecordTimestampMs - Int64(((reachSeconds + Self.marginSeconds) * 1000).rounded(.up))
    }

    /// The start for a time look-up's answer (`nil`: no answer, or no record that new).
    func start(timeLookUp offset: Int64?) -> Int64 {
        guard let offset else { return floor }
        return min(max(offset, floor), end - 1)
    }

    /// After the first replayed record: where to start instead, when its event time is not at least
    /// `reachSeconds` before the last record's; `nil` when the start is early enough or cannot move back.
    func stepBack(from start: Int64, firstEventTime: Double?, lastEventTime: Double?) -> Int64? {
        guard let reachSeconds, let first = firstEventTime, let last = lastEventTime, start > floor else { return nil }
        guard first > last - reachSeconds else { return nil }
        return max(floor, start - max(1000, end - start))
    }
}

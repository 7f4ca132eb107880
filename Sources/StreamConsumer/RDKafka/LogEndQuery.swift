import Crdkafka

/// What a log-end look-up found.
struct LogEnds: Sendable, Equatable {
    /// Where each partition's log ends (ListOffsets "latest": the high watermark, or the last stable offset when
    /// the consumer reads committed records), for the partitions whose leader answered.
    var ends: [Int32: Int64] = [:]
    /// Where the logs of the partitions asked for with `starts` begin (ListOffsets "earliest"), where read.
    var starts: [Int32: Int64] = [:]
    /// Partitions whose end could not be read (their leader down or unknown, the time up, the look-up stopped).
    var failed: [Int32] = []
    /// The first error met, for the log (`nil`: every end was read).
    var error: String?
    /// Whether a broker answered at all (a call that succeeded, or the metadata request).
    var answered = false
    /// When the look-up started (``Clock/monotonicNanos()``): an answer proves brokers reachable only after
    /// that moment, not after an outage that began while it ran.
    var startedNanos: UInt64 = 0
}

/// Reads where partitions' logs end, on a consumer handle. Any thread may call it: librdkafka's handles are
/// thread-safe, and `rd_kafka_offsets_for_times` and `rd_kafka_metadata` serve reply queues of their own (of the
/// client's callbacks only the log callback may run on the calling thread, as on librdkafka's own threads).
///
/// `rd_kafka_offsets_for_times` is all or nothing: one ListOffsets request per leader, and if any leader is
/// unknown or any request fails it returns that error and no partition's offset (librdkafka 2.0.2, `rdkafka.c`).
/// With one broker down, the partitions it leads are exactly those that stop delivering and get looked up, so a
/// single call would lose the ends of every other partition too. When the call fails for several partitions, they
/// are asked again leader by leader (the leaders from a metadata request): one broker down costs only the ends of
/// the partitions it leads.
enum LogEndQuery {
    /// Each call's bound. The look-up runs off the processing loop (``LogEndProbe``); one call is what stopping
    /// the probe waits for at shutdown.
    static var callTimeoutMs: Int32 { 2_000 }

    /// The ends of `partitions` of `topic`. `shouldContinue` is asked between calls (a stop request ends the
    /// look-up after the call in progress). No partitions: only whether a broker answers (a metadata request).
    ///
    /// The partitions the first call could not read are asked again leader by leader, in leader id order: a down
    /// leader's timeout may come before a healthy one's answer, which costs time on the probe's thread only.
    /// `starts`: partitions whose log start is read too, after the ends and in the same way (leader by leader
    /// when the first call fails), of those whose end was read; those not read are simply missing from
    /// ``LogEnds/starts`` (the next look-up asks again).
    static func ends(
        client: OpaquePointer, topic: String, partitions: [Int32], starts: [Int32] = [], timeoutMs: Int32 = callTimeoutMs,
        shouldContinue: () -> Bool = { true }
    ) -> LogEnds {
        var result = offsets(
            client: client, topic: topic, partitions: partitions, at: PartitionOffset.end, timeoutMs: timeoutMs,
            shouldContinue: shouldContinue)
        // Only where the end was read: a start is of no use without it (the lag is end − start), and asking the
        // partitions of a leader that just timed out would wait for it again.
        let startsWithEnds = starts.filter { result.ends[$0] != nil }
        if !startsWithEnds.isEmpty, shouldContinue() {
            result.starts = offsets(
                client: client, topic: topic, partitions: startsWithEnds, at: PartitionOffset.beginning,
                timeoutMs: timeoutMs, shouldContinue: shouldContinue
            ).ends
        }
        return result
    }

    /// Where `partitions` end (`at` ``PartitionOffset/end``) or start (``PartitionOffset/beginning``): one call,
    /// then leader by leader for those it could not read.
    private static func offsets(
        client: OpaquePointer, topic: String, partitions: [Int32], at logical: Int64, timeoutMs: Int32,
        shouldContinue: () -> Bool
    ) -> LogEnds {
        let started = Clock.monotonicNanos()
        guard !partitions.isEmpty else {
            var check = LogEnds(startedNanos: started)
            do {
                _ = try TopicMetadata.partitionLeaders(client: client, topic: topic, timeoutMs: timeoutMs)
                check.answered = true
            } catch {
                check.error = error.message
            }
            return check
        }
        var result = ask(client: client, topic: topic, partitions: partitions, at: logical, timeoutMs: timeoutMs)
        result.startedNanos = started
        let retry = result.failed
        // One partition is asked again only to learn whether any broker answers (the metadata request).
        guard !retry.isEmpty, retry.count > 1 || !result.answered, shouldContinue() else { return result }
        result.failed = []
        let leaders: [Int32: Int32]
        do {
            leaders = try TopicMetadata.partitionLeaders(client: client, topic: topic, timeoutMs: timeoutMs)
            result.answered = true
        } catch {
            result.failed = retry
            return result
        }
        var groups: [Int32: [Int32]] = [:]
        for partition in retry {
            guard let leader = leaders[partition], leader >= 0 else {
                result.failed.append(partition)
                continue
            }
            groups[leader, default: []].append(partition)
        }
        for leader in groups.keys.sorted() {
            let group = groups[leader] ?? []
            guard shouldContinue() else {
                result.failed += group
                continue
            }
            let answer = ask(client: client, topic: topic, partitions: group, at: logical, timeoutMs: timeoutMs)
            result.ends.merge(answer.ends) { _, new in new }
            result.failed += answer.failed
            if answer.answered { result.answered = true }
        }
        result.failed.sort()
        if result.failed.isEmpty { result.error = nil }
        return result
    }

    /// One `rd_kafka_offsets_for_times` call for `partitions` ("latest", or `at` ``PartitionOffset/beginning``:
    /// "earliest", the answer then in ``LogEnds/ends`` too): all or nothing across leaders.
    static func ask(
        client: OpaquePointer, topic: String, partitions: [Int32], at logical: Int64 = PartitionOffset.end, timeoutMs: Int32
    ) -> LogEnds {
        let list = PartitionList(topic: topic, partitions: partitions, offset: logical)
        let error = list.withPointer { rd_kafka_offsets_for_times(client, $0, timeoutMs) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return LogEnds(failed: partitions, error: KafkaError.text(error))
        }
        var result = LogEnds(answered: true)
        for entry in list.entries {
            if entry.error == RD_KAFKA_RESP_ERR_NO_ERROR, entry.offset >= 0 {
                result.ends[entry.partition] = entry.offset
            } else {
                result.failed.append(entry.partition)
                if result.error == nil, entry.error != RD_KAFKA_RESP_ERR_NO_ERROR { result.error = KafkaError.text(entry.error) }
            }
        }
        return result
    }
}

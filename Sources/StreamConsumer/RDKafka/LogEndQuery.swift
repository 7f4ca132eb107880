import Crdkafka

/// What a log-end look-up found.
struct LogEnds: Sendable, Equatable {
    /// Where each partition's log ends (ListOffsets "latest": the high watermark, or the last stable offset when
    /// the consumer reads committed records), for the partitions whose leader answered.
    var ends: [Int32: Int64] = [:]
    /// Partitions whose end could not be read (their leader down or unknown, the time up, the look-up stopped).
    var failed: [Int32] = []
    /// The first error met, for the log (`nil`: every end was read).
    var error: String?
}

/// Reads where partitions' logs end, on a consumer handle. Any thread may call it: librdkafka's handles are
/// thread-safe, and `rd_kafka_offsets_for_times` serves a reply queue of its own (no callback of the client's
/// runs on the calling thread).
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
    /// look-up after the call in progress).
    static func ends(
        client: OpaquePointer, topic: String, partitions: [Int32], timeoutMs: Int32 = callTimeoutMs,
        shouldContinue: () -> Bool = { true }
    ) -> LogEnds {
        guard !partitions.isEmpty else { return LogEnds() }
        var result = LogEnds()
        let first = ask(client: client, topic: topic, partitions: partitions, timeoutMs: timeoutMs)
        guard let error = first.error, partitions.count > 1, shouldContinue() else { return first }
        result.error = error
        let leaders: [Int32: Int32]
        do {
            leaders = try self.leaders(client: client, topic: topic, timeoutMs: timeoutMs)
        } catch {
            result.failed = partitions
            return result
        }
        var groups: [Int32: [Int32]] = [:]
        for partition in partitions {
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
            let answer = ask(client: client, topic: topic, partitions: group, timeoutMs: timeoutMs)
            result.ends.merge(answer.ends) { _, new in new }
            result.failed += answer.failed
        }
        result.failed.sort()
        return result
    }

    /// One `rd_kafka_offsets_for_times` call for `partitions` ("latest"): all or nothing across leaders.
    static func ask(client: OpaquePointer, topic: String, partitions: [Int32], timeoutMs: Int32) -> LogEnds {
        let list = PartitionList(topic: topic, partitions: partitions, offset: PartitionOffset.end)
        let error = list.withPointer { rd_kafka_offsets_for_times(client, $0, timeoutMs) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return LogEnds(failed: partitions, error: KafkaError.text(error))
        }
        var result = LogEnds()
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

    /// Each partition's leader broker id (-1: none), from a metadata request.
    private static func leaders(client: OpaquePointer, topic: String, timeoutMs: Int32) throws(KafkaError) -> [Int32: Int32] {
        let topicHandle = rd_kafka_topic_new(client, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(client, 0, topicHandle, &metadata, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(operation: "read the partition leaders of \(topic)", error: error)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var leaders: [Int32: Int32] = [:]
        for topicIndex in 0..<Int(metadata.pointee.topic_cnt) {
            let topicMetadata = metadata.pointee.topics[topicIndex]
            for index in 0..<Int(topicMetadata.partition_cnt) {
                let partition = topicMetadata.partitions[index]
                leaders[partition.id] = partition.leader
            }
        }
        return leaders
    }
}

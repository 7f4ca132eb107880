import Crdkafka

/// One record read back from a topic, copied out of librdkafka.
public struct ReadRecord: Sendable, Equatable {
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [String: String]
    /// Epoch milliseconds, or -1 when the record has none.
    public var timestampMs: Int64

    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// Reads a whole topic from its beginning without joining a consumer group (no offsets committed): for audits,
/// tools and tests.
public final class TopicReader {
    let client: OpaquePointer
    public let topic: String
    /// Partitions whose end was reached since they were last assigned (an end-of-partition event).
    private var reachedEnd: Set<Int32> = []

    public init(bootstrapServers: String, topic: String, properties: [KafkaProperty] = []) throws {
        var conf = KafkaConf()
        try conf.set("bootstrap.servers", bootstrapServers, source: "KAFKA_BOOTSTRAP_SERVERS")
        try conf.set("enable.partition.eof", "true", source: "consumerd")
        // librdkafka needs a group for assign(); this one never commits and never subscribes.
        try conf.set("group.id", "consumerd-reader-\(UInt64.random(in: 0...UInt64.max))", source: "consumerd")
        try conf.set("enable.auto.commit", "false", source: "consumerd")
        try conf.set("fetch.wait.max.ms", "50", source: "consumerd")
        for property in properties { try conf.set(property) }
        // A reader of history: a start before the log's beginning (retention) reads from the beginning.
        try conf.set("auto.offset.reset", "earliest", source: "consumerd")
        self.client = try conf.makeClient(RD_KAFKA_CONSUMER, operation: "create a topic reader")
        self.topic = topic
        rd_kafka_poll_set_consumer(client)
    }

    deinit {
        rd_kafka_consumer_close(client)
        rd_kafka_destroy(client)
    }

    /// Number of partitions the broker reports for the topic.
    public func partitionCount(timeoutMs: Int32 = 10_000) throws(KafkaError) -> Int {
        try TopicMetadata.partitionCount(client: client, topic: topic, timeoutMs: timeoutMs)
    }

    /// Assigns every partition from the beginning.
    public func start() throws(KafkaError) {
        reachedEnd.removeAll()
        let count = try partitionCount()
        let list = PartitionList(topic: topic, partitions: (0..<Int32(count)).map { $0 }, offset: Int64(RD_KAFKA_OFFSET_BEGINNING))
        let error = list.withPointer { rd_kafka_assign(client, $0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "assign \(topic)", error: error)
        }
    }

    /// Reads one partition's records with offsets in `start..<end` in order, handing each to `body` without
    /// copying; returns how many were read. Stops early (returning what it read) when `timeoutSeconds` pass or
    /// `isCancelled` returns true (checked between records and every 100 ms while waiting).
    public func replay(
        partition: Int32,
        offsets: Range<Int64>,
        timeoutSeconds: Double,
        isCancelled: () -> Bool = { false },
        _ body: (ConsumedRecord) -> Void
    ) throws(KafkaError) -> Int {
        guard !offsets.isEmpty else { return 0 }
        try startReplay(partition: partition, from: offsets.lowerBound)
        defer { stopReplay() }
        let deadline = Clock.monotonicNanos() + UInt64(timeoutSeconds * 1e9)
        var count = 0
        while Clock.monotonicNanos() < deadline, !isCancelled() {
            let step = replayStep(partition: partition, end: offsets.upperBound, budgetMs: 100, body)
            count += step.records
            if step.finished { return count }
        }
        return count
    }

    /// Starts reading `partition` from `offset`, for ``replayStep(partition:end:budgetMs:_:)`` (one partition
    /// at a time; a new start replaces the previous one).
    public func startReplay(partition: Int32, from offset: Int64) throws(KafkaError) {
        let list = PartitionList(topic: topic, partitions: [partition], offset: offset)
        let error = list.withPointer { rd_kafka_assign(client, $0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "assign \(topic) [\(partition)] for replay", error: error)
        }
    }

    /// Hands the records that arrive within about `budgetMs` with offsets before `end` to `body`, in order,
    /// without copying. `finished`: the record before `end` (or the partition's end) was reached.
    public func replayStep(
        partition: Int32, end: Int64, budgetMs: Int, _ body: (ConsumedRecord) -> Void
    ) -> (records: Int, finished: Bool) {
        var count = 0
        var finished = false
        _ = forEachArriving(budgetMs: budgetMs) { arrival in
            switch arrival {
            case .end(let ended):
                // Nothing more to read (the range ended in transaction markers).
                if ended == partition { finished = true }
            case .record(let record):
                guard record.partition == partition else { return true }
                guard record.offset < end else {
                    finished = true
                    break
                }
                body(record)
                count += 1
                if record.offset >= end - 1 { finished = true }
            }
            return !finished
        }
        return (count, finished)
    }

    /// Reads exactly these partitions from these offsets (replacing any earlier assignment), for
    /// ``forEachArriving(budgetMs:_:)``.
    func assign(_ positions: [PartitionOffset]) throws(KafkaError) {
        guard !positions.isEmpty else {
            stopReplay()
            return
        }
        let list = PartitionList(topic: topic, offsets: positions)
        let error = list.withPointer { rd_kafka_assign(client, $0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "assign \(topic) \(positions) for replay", error: error)
        }
    }

    /// What arrives from an assignment made with ``assign(_:)``.
    enum Arrival {
        /// A record, borrowed for the duration of the call.
        case record(ConsumedRecord)
        /// The partition's end was reached.
        case end(partition: Int32)
    }

    /// Hands what arrives within about `budgetMs` to `body`, in order per partition, until `body` returns false;
    /// returns how many arrivals it handed over.
    func forEachArriving(budgetMs: Int, _ body: (Arrival) -> Bool) -> Int {
        let deadline = Clock.monotonicNanos() + UInt64(max(budgetMs, 1)) * 1_000_000
        var count = 0
        while true {
            // One clock read for both the check and the wait: with two, the deadline could pass in between and a
            // wrapped difference would become a wait of weeks (seen as a rebuild that never ended, under load).
            let now = Clock.monotonicNanos()
            guard now < deadline else { break }
            let remainingMs = Int32(clamping: (deadline - now) / 1_000_000)
            guard let message = rd_kafka_consumer_poll(client, remainingMs) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let more: Bool
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                more = body(.end(partition: message.pointee.partition))
            } else if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                more = body(.record(KafkaMessage.record(message, topic: topic)))
            } else {
                more = true
            }
            count += 1
            if !more { break }
        }
        return count
    }

    /// Ends a replay started with ``startReplay(partition:from:)``.
    public func stopReplay() {
        rd_kafka_assign(client, nil)
    }

    /// The earliest offset of `partition` whose record timestamp is at or after `timestampMs` (Kafka's
    /// ListOffsets by time); `nil` when no record is that new — also librdkafka 2.0.2's mock cluster's answer to
    /// every look-up by time (measured: offset -1, no error). Throws where the broker fails the request.
    public func offset(partition: Int32, atOrAfterTimestampMs timestampMs: Int64, timeoutMs: Int32) throws(KafkaError) -> Int64? {
        let list = PartitionList(topic: topic, partitions: [partition], offset: timestampMs)
        let error = list.withPointer { rd_kafka_offsets_for_times(client, $0, timeoutMs) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let entry = list.entries.first else {
            throw KafkaError(operation: "look up \(topic) [\(partition)] by time", error: error)
        }
        guard entry.error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "look up \(topic) [\(partition)] by time", error: entry.error)
        }
        return entry.offset >= 0 ? entry.offset : nil
    }

    /// The low and high watermarks of `partition` as the broker reports them now.
    public func watermarks(partition: Int32, timeoutMs: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let error = rd_kafka_query_watermark_offsets(client, topic, partition, &low, &high, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(operation: "read watermarks of \(topic) [\(partition)]", error: error)
        }
        return (low, high)
    }

    /// The watermarks of `partition` librdkafka cached from this reader's fetches (no broker round trip), or `nil`
    /// when it has fetched nothing from it yet.
    func cachedWatermarks(partition: Int32) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        guard rd_kafka_get_watermark_offsets(client, topic, partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0
        else { return nil }
        return (low, high)
    }

    /// Returns the records that arrive within `timeoutMs` (at most `maxRecords`).
    public func poll(timeoutMs: Int32, maxRecords: Int = 10_000) -> [ReadRecord] {
        var records: [ReadRecord] = []
        var wait = timeoutMs
        while records.count < maxRecords, let message = rd_kafka_consumer_poll(client, wait) {
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                reachedEnd.insert(message.pointee.partition)
                continue
            }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            reachedEnd.remove(message.pointee.partition)
            records.append(Self.copy(message))
        }
        return records
    }

    /// Reads every partition from the beginning up to the high watermarks current at the call (the whole topic
    /// as of now); returns what it read when `timeoutSeconds` pass first.
    public func readToEnd(timeoutSeconds: Double) throws(KafkaError) -> [ReadRecord] {
        let count = try partitionCount()
        var remaining: [Int32: Int64] = [:]
        for partition in 0..<Int32(count) {
            let (low, high) = try watermarks(partition: partition, timeoutMs: 10_000)
            if high > low { remaining[partition] = high }
        }
        try start()
        var records: [ReadRecord] = []
        let deadline = Clock.monotonicNanos() + UInt64(timeoutSeconds * 1e9)
        while !remaining.isEmpty, Clock.monotonicNanos() < deadline {
            for record in poll(timeoutMs: 200, maxRecords: 50_000) {
                records.append(record)
                if let high = remaining[record.partition], record.offset >= high - 1 {
                    remaining[record.partition] = nil
                }
            }
            // With read_committed the last offsets may be transaction markers, never delivered: the end event
            // says the partition is read as far as it can be.
            for partition in reachedEnd { remaining[partition] = nil }
        }
        return records
    }

    /// Reads until `done` says enough or `timeoutSeconds` pass; returns everything read.
    public func read(timeoutSeconds: Double, until done: ([ReadRecord]) -> Bool) -> [ReadRecord] {
        let deadline = Clock.monotonicNanos() + UInt64(timeoutSeconds * 1e9)
        var records: [ReadRecord] = []
        while !done(records), Clock.monotonicNanos() < deadline {
            records += poll(timeoutMs: 200)
        }
        return records
    }

    static func copy(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ReadRecord {
        let value = Array(KafkaMessage.value(message))
        let key = KafkaMessage.key(message).map { Array($0) }
        var headers: [String: String] = [:]
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = bytes.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self) } ?? ""
                headers[string(fromC: name)] = text
                index += 1
            }
        }
        return ReadRecord(
            partition: message.pointee.partition, offset: message.pointee.offset, key: key, value: value,
            headers: headers, timestampMs: KafkaMessage.timestampMs(message) ?? -1
        )
    }
}

import Crdkafka

/// The offsets a partition holds: `low` (the oldest record retention kept) up to, not including, `high`.
public struct PartitionExtent: Sendable, Equatable {
    public var partition: Int32
    public var low: Int64
    public var high: Int64

    public init(partition: Int32, low: Int64, high: Int64) {
        self.partition = partition
        self.low = low
        self.high = high
    }

    /// Records the partition holds (offsets; transaction markers included).
    public var count: Int64 { max(0, high - low) }
}

/// A record borrowed from librdkafka during ``TopicReader/stream(_:timeoutSeconds:_:)``, with its headers.
public struct StreamedRecord {
    /// Key, value and position, valid only inside the call.
    public var record: ConsumedRecord
    /// Epoch milliseconds, `nil` when the record has none.
    public var timestampMs: Int64?
    private let message: UnsafeMutablePointer<rd_kafka_message_t>

    init(message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        self.message = message
        self.record = KafkaMessage.record(message, topic: topic)
        self.timestampMs = KafkaMessage.timestampMs(message)
    }

    /// The last header called `name`, as UTF-8 text; `nil` when the record has none.
    public func header(_ name: String) -> String? {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return nil }
        var bytes: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(list, name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        guard let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: size), as: UTF8.self)
    }
}

extension TopicReader {
    /// The low and high watermark of every partition of the topic, now.
    public func extents(timeoutMs: Int32 = 10_000) throws(KafkaError) -> [PartitionExtent] {
        let count = try partitionCount(timeoutMs: timeoutMs)
        var extents: [PartitionExtent] = []
        for partition in 0..<Int32(count) {
            let (low, high) = try watermarks(partition: partition, timeoutMs: timeoutMs)
            extents.append(PartitionExtent(partition: partition, low: low, high: high))
        }
        return extents
    }

    /// Reads the given partitions from their `low` up to (not including) their `high`, handing every record to
    /// `body` without copying, in offset order within each partition (partitions interleave). Nothing is kept:
    /// memory does not depend on how much is read. Returns the number of records handed over.
    ///
    /// - Throws: ``KafkaError`` when `timeoutSeconds` pass without a record arriving before every partition was
    ///   read to its `high` (a partial read would make every unread record look missing; a stall, not the size of
    ///   the topic, is what ends the read), or the assignment fails.
    public func stream(
        _ extents: [PartitionExtent], timeoutSeconds: Double, _ body: (StreamedRecord) -> Void
    ) throws(KafkaError) -> Int {
        var remaining: [Int32: Int64] = [:]
        for extent in extents where extent.high > extent.low { remaining[extent.partition] = extent.high }
        guard !remaining.isEmpty else { return 0 }
        let positions = extents.filter { remaining[$0.partition] != nil }.map { PartitionOffset(partition: $0.partition, offset: $0.low) }
        try assign(positions)
        defer { stopReplay() }
        let patience = UInt64(max(timeoutSeconds, 0) * 1e9)
        var deadline = Clock.monotonicNanos() + patience
        var count = 0
        while !remaining.isEmpty {
            let now = Clock.monotonicNanos()
            guard now < deadline else {
                let unread = remaining.keys.sorted().prefix(8).map(String.init).joined(separator: ", ")
                throw KafkaError(
                    operation: "read \(topic)",
                    message: "nothing arrived for \(Int(timeoutSeconds)) s before the end (partitions \(unread)…); raise --timeout"
                )
            }
            guard let message = rd_kafka_consumer_poll(client, Int32(clamping: min((deadline - now) / 1_000_000, 200))) else {
                continue
            }
            defer { rd_kafka_message_destroy(message) }
            // Progress (a record or an end) renews the patience; errors (a broker down) do not.
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR || message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                deadline = Clock.monotonicNanos() + patience
            }
            let partition = message.pointee.partition
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                // With read_committed the last offsets may be transaction markers, never delivered: the end
                // event says the partition is read as far as it can be.
                remaining[partition] = nil
                continue
            }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR, let high = remaining[partition] else { continue }
            let offset = message.pointee.offset
            guard offset < high else {
                remaining[partition] = nil
                continue
            }
            body(StreamedRecord(message: message, topic: topic))
            count += 1
            if offset >= high - 1 { remaining[partition] = nil }
        }
        return count
    }
}

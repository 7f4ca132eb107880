import Crdkafka
import Foundation

/// Topic facts the audit does not report, read with a bare librdkafka consumer (no group join, nothing
/// committed): per-partition watermarks (a low watermark above 0 means the mock's ~5 MiB retention dropped the
/// oldest records, and any audit of that partition is meaningless) and record timestamps (outputs carry
/// CreateTime = the moment the daemon produced them).
final class TopicInspector {
    private let client: OpaquePointer

    /// `group`: the group whose committed offsets ``committed(topic:partitions:)`` reads (the inspector never
    /// joins it: it does not subscribe); a group of its own by default.
    init(bootstrap: String, group: String? = nil) throws {
        let conf = rd_kafka_conf_new()
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in [
            ("bootstrap.servers", bootstrap),
            ("group.id", group ?? "topic-inspector-\(UInt64.random(in: 0...UInt64.max))"),
            ("enable.auto.commit", "false"),
            ("enable.partition.eof", "true"),
            ("fetch.wait.max.ms", "10"),
        ] {
            guard rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw TestFailure("topic inspector: \(name): \(Self.text(errorText))")
            }
        }
        guard let client = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errorText, errorText.count) else {
            throw TestFailure("topic inspector: \(Self.text(errorText))")
        }
        rd_kafka_poll_set_consumer(client)
        self.client = client
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        rd_kafka_consumer_close(client)
        rd_kafka_destroy(client)
    }

    /// (low, high) watermark of each partition `0..<partitions`.
    func watermarks(topic: String, partitions: Int) throws -> [(low: Int64, high: Int64)] {
        try (0..<Int32(partitions)).map { partition in
            var low: Int64 = 0
            var high: Int64 = 0
            let error = rd_kafka_query_watermark_offsets(client, topic, partition, &low, &high, 10_000)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw TestFailure("watermarks of \(topic) [\(partition)]: \(String(cString: rd_kafka_err2str(error)))")
            }
            return (low, high)
        }
    }

    /// The offset the inspector's group has committed on each partition `0..<partitions` of `topic` (`nil`: none).
    func committed(topic: String, partitions: Int) throws -> [Int64?] {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<Int32(partitions) { rd_kafka_topic_partition_list_add(list, topic, partition) }
        let error = rd_kafka_committed(client, list, 10_000)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw TestFailure("committed offsets of \(topic): \(String(cString: rd_kafka_err2str(error)))")
        }
        var offsets = [Int64?](repeating: nil, count: partitions)
        for index in 0..<Int(list.pointee.cnt) {
            let entry = list.pointee.elems[index]
            guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR, entry.offset >= 0, Int(entry.partition) < partitions else { continue }
            offsets[Int(entry.partition)] = entry.offset
        }
        return offsets
    }

    /// Partitions of `topic` whose oldest records were dropped by retention, as "partition from offset".
    func truncatedPartitions(topic: String, partitions: Int) throws -> [String] {
        try watermarks(topic: topic, partitions: partitions).enumerated().filter { $0.element.low > 0 }
            .map { "\(topic) [\($0.offset)] from \($0.element.low)" }
    }

    /// The timestamps (epoch ms) of every record of `topic`, read up to the high watermarks current at the call;
    /// only the timestamps are kept (a long soak's outputs would not fit in memory as records).
    func recordTimestamps(topic: String, partitions: Int, timeoutSeconds: Double = 120) throws -> [Int64] {
        var timestamps: [Int64] = []
        try forEachRecord(topic: topic, partitions: partitions, timeoutSeconds: timeoutSeconds) { message in
            var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            timestamps.append(rd_kafka_message_timestamp(message, &type))
        }
        return timestamps
    }

    /// A record's key and value, byte for byte.
    private struct RecordBytes: Hashable {
        var key: [UInt8]?
        var value: [UInt8]?
    }

    /// How many records `topic` holds, and how many of them are byte-identical copies (key and value) of another: a
    /// record written n times counts n − 1 copies. For a topic nobody writes any more (it keeps every record's bytes
    /// in memory while it reads).
    func recordCopies(topic: String, partitions: Int, timeoutSeconds: Double = 120) throws -> (records: Int, copies: Int) {
        func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8]? {
            pointer.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) }
        }
        var records = 0
        var distinct = Set<RecordBytes>()
        try forEachRecord(topic: topic, partitions: partitions, timeoutSeconds: timeoutSeconds) { message in
            records += 1
            distinct.insert(RecordBytes(
                key: bytes(message.pointee.key, message.pointee.key_len),
                value: bytes(message.pointee.payload, message.pointee.len)
            ))
        }
        return (records, records - distinct.count)
    }

    /// Calls `body` with every record of `topic`, read from the beginning up to the high watermarks current at the
    /// call (a topic still being written may show a few records past them).
    private func forEachRecord(
        topic: String, partitions: Int, timeoutSeconds: Double, _ body: (UnsafeMutablePointer<rd_kafka_message_t>) -> Void
    ) throws {
        var remaining: [Int32: Int64] = [:]
        for (partition, marks) in try watermarks(topic: topic, partitions: partitions).enumerated() where marks.high > marks.low {
            remaining[Int32(partition)] = marks.high
        }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in remaining.keys {
            rd_kafka_topic_partition_list_add(list, topic, partition)?.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let assigned = rd_kafka_assign(client, list)
        guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw TestFailure("assign \(topic): \(String(cString: rd_kafka_err2str(assigned)))")
        }
        defer { rd_kafka_assign(client, nil) }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while !remaining.isEmpty, Date() < deadline {
            guard let message = rd_kafka_consumer_poll(client, 200) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let partition = message.pointee.partition
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                remaining[partition] = nil
                continue
            }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            body(message)
            if let high = remaining[partition], message.pointee.offset >= high - 1 { remaining[partition] = nil }
        }
        guard remaining.isEmpty else {
            throw TestFailure("reading \(topic) timed out with \(remaining.count) partitions unread")
        }
    }
}

/// The longest stretch of `window` with no timestamp in it (edges included), and where it starts, in ms.
func longestGap(timestampsMs: [Int64], window: ClosedRange<Int64>) -> (milliseconds: Int64, startMs: Int64) {
    var previous = window.lowerBound
    var longest: (milliseconds: Int64, startMs: Int64) = (0, window.lowerBound)
    for timestamp in timestampsMs.sorted() where window.contains(timestamp) {
        if timestamp - previous > longest.milliseconds { longest = (timestamp - previous, previous) }
        previous = timestamp
    }
    if window.upperBound - previous > longest.milliseconds { longest = (window.upperBound - previous, previous) }
    return longest
}

/// The value of an environment variable as a number, or `defaultValue`.
func environmentNumber(_ name: String, default defaultValue: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? defaultValue
}

/// Seconds as text with one decimal.
func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }

/// `consumerd audit --json` with a deadline that fits a soak's volume (``DaemonIntegrationTests/runAudit`` allows
/// 180 s, which half a million inputs and outputs can exceed on a loaded 2-core machine).
func runLongAudit(bootstrap: String, timeoutSeconds: Double = 600) throws -> DaemonIntegrationTests.AuditSummary {
    let started = Date()
    let audit = try ChildProcess(name: "audit", arguments: ["audit", "--json", "--bootstrap-servers", bootstrap])
    let status = audit.waitForExit(timeoutSeconds: timeoutSeconds)
    let text = audit.stdout.joined(separator: "\n")
    guard let summary = try? JSONDecoder().decode(DaemonIntegrationTests.AuditSummary.self, from: Data(text.utf8)) else {
        throw TestFailure("audit printed no report after \(seconds(Date().timeIntervalSince(started))) (status \(String(describing: status))): \(audit.stderr.suffix(1500))")
    }
    print("audit: \(summary.inputs) inputs checked in \(seconds(Date().timeIntervalSince(started)))")
    return summary
}

import Crdkafka

/// An `rd_kafka_topic_partition_list_t` that frees itself: the only way the engine's layer builds one.
///
/// The C list is reached only through ``withPointer(_:)``, which keeps the list alive until librdkafka is done with
/// it. `call(list.pointer)` would rely on the optimizer not ending `list`'s life at its last use; a temporary's ends
/// at once — `rd_kafka_pause_partitions(rk, PartitionList(…).pointer)` made librdkafka log "Application pausing
/// -589090216 partition(s)" and pause nothing.
final class PartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: max(capacity, 1)))
    }

    /// `partitions` of `topic`, each at `offset` (librdkafka's "invalid" = no position when `nil`).
    convenience init(topic: String, partitions: [Int32], offset: Int64? = nil) {
        self.init(capacity: partitions.count)
        for partition in partitions { add(topic: topic, partition: partition, offset: offset) }
    }

    convenience init(topic: String, offsets: [PartitionOffset]) {
        self.init(capacity: offsets.count)
        for entry in offsets { add(topic: topic, partition: entry.partition, offset: entry.offset) }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    /// Calls `body` with the C list, which stays alive until `body` returns.
    func withPointer<Result>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(self) { try body(pointer) }
    }

    func add(topic: String, partition: Int32, offset: Int64? = nil) {
        let entry = rd_kafka_topic_partition_list_add(pointer, topic, partition)
        if let offset { entry?.pointee.offset = offset }
    }

    var count: Int { Int(pointer.pointee.cnt) }

    var partitions: [Int32] { Self.partitions(of: pointer) }

    /// Each entry's partition and offset, with the entry's own error when librdkafka set one.
    var entries: [(partition: Int32, offset: Int64, error: rd_kafka_resp_err_t)] {
        (0..<count).map { index in
            let element = pointer.pointee.elems[index]
            return (element.partition, element.offset, element.err)
        }
    }

    /// The partition ids of a list librdkafka owns.
    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [Int32] {
        (0..<Int(list.pointee.cnt)).map { list.pointee.elems[$0].partition }
    }
}

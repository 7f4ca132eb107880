import Crdkafka

/// An `rd_kafka_topic_partition_list_t` that frees itself: the only way the engine's layer builds one.
final class PartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

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

import Crdkafka

/// librdkafka message → Swift values, written once for every reader of messages (the engine, the topic reader,
/// kept retries).
enum KafkaMessage {
    /// The record timestamp in epoch milliseconds, or `nil` when the record has none.
    static func timestampMs(_ message: UnsafePointer<rd_kafka_message_t>) -> Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let value = rd_kafka_message_timestamp(message, &type)
        return value >= 0 && type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? value : nil
    }

    /// The key bytes, borrowed from the message.
    static func key(_ message: UnsafePointer<rd_kafka_message_t>) -> UnsafeRawBufferPointer? {
        message.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len) }
    }

    /// The value bytes, borrowed from the message (empty for a null value).
    static func value(_ message: UnsafePointer<rd_kafka_message_t>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: message.pointee.payload, count: message.pointee.payload == nil ? 0 : message.pointee.len)
    }

    /// A record that borrows the message's buffers: valid while the message lives.
    static func record(_ message: UnsafePointer<rd_kafka_message_t>, topic: String) -> ConsumedRecord {
        ConsumedRecord(
            topic: topic,
            partition: message.pointee.partition,
            offset: message.pointee.offset,
            key: key(message),
            value: value(message),
            timestamp: timestampMs(message).map { Double($0) / 1000 }
        )
    }
}

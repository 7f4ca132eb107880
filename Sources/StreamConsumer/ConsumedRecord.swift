/// One input record, borrowed from librdkafka for the duration of a ``RecordHandler/handle(_:output:)`` call.
///
/// The buffers point into librdkafka's message; they are valid only inside that call, so nothing is copied on
/// the hot path.
public struct ConsumedRecord {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record key, or `nil` when the record has none.
    public var key: UnsafeRawBufferPointer?
    public var value: UnsafeRawBufferPointer
    /// The Kafka record timestamp in epoch seconds (CreateTime or LogAppendTime), `nil` when the record has none.
    public var timestamp: Double?

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        timestamp: Double?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }
}

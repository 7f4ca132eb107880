import Crdkafka

/// librdkafka's key partitioners (the producer property `partitioner`), computed by librdkafka's own exported
/// functions — so a tool can tell which partition a keyed record was written to without re-implementing the
/// hashes.
public enum KeyPartitioner: String, Sendable, CaseIterable {
    case random
    case consistent
    /// librdkafka's default: CRC32 of the key; records without a key go to a random partition.
    case consistentRandom = "consistent_random"
    case murmur2
    case murmur2Random = "murmur2_random"
    case fnv1a
    case fnv1aRandom = "fnv1a_random"

    /// The partitioner a producer configured with `properties` uses (librdkafka's default when unset).
    public init?(properties: [KafkaProperty]) {
        guard let value = properties.last(where: { $0.name == "partitioner" })?.value else {
            self = .consistentRandom
            return
        }
        self.init(rawValue: value)
    }

    /// The partition of `partitionCount` a record with `key` is written to, or `nil` when it is chosen at random
    /// (the `random` partitioner; the `*_random` ones for a missing or empty key).
    public func partition(forKey key: UnsafeRawBufferPointer?, partitionCount: Int32) -> Int32? {
        guard partitionCount > 0 else { return nil }
        let bytes = key.flatMap { $0.count > 0 ? $0 : nil }
        let function: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
        if bytes == nil, self == .consistentRandom || self == .murmur2Random || self == .fnv1aRandom { return nil }
        switch self {
        case .random: return nil
        case .consistent, .consistentRandom: function = rd_kafka_msg_partitioner_consistent
        case .murmur2, .murmur2Random: function = rd_kafka_msg_partitioner_murmur2
        case .fnv1a, .fnv1aRandom: function = rd_kafka_msg_partitioner_fnv1a
        }
        // The deterministic functions never touch the topic handle (the random ones, which do, are not called);
        // a missing key is hashed as an empty one, never as a null pointer.
        if let bytes, let base = bytes.baseAddress {
            return function(nil, base, bytes.count, partitionCount, nil, nil)
        }
        var empty: UInt8 = 0
        return withUnsafeBytes(of: &empty) { function(nil, $0.baseAddress, 0, partitionCount, nil, nil) }
    }

    /// ``partition(forKey:partitionCount:)`` for a text key.
    public func partition(forKey key: String?, partitionCount: Int32) -> Int32? {
        guard var key else { return partition(forKey: nil as UnsafeRawBufferPointer?, partitionCount: partitionCount) }
        return key.withUTF8 { partition(forKey: UnsafeRawBufferPointer($0), partitionCount: partitionCount) }
    }
}

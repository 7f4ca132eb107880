//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Foundation

/// The few fields consumerd exports from librdkafka's statistics JSON
/// (emitted every `statistics.interval.ms`, see librdkafka's STATISTICS.md).
///
/// Parsing happens every few seconds, off the per-record path, so Foundation's
/// `JSONSerialization` is used rather than a hand-rolled parser.
public struct LibrdkafkaStatistics: Sendable, Equatable {
    /// One partition's stored-offset lag (`topics.<t>.partitions.<p>.consumer_lag_stored`).
    public struct PartitionLag: Sendable, Hashable {
        /// The topic name.
        public var topic: String
        /// The partition id (never the internal `-1` "unassigned" partition).
        public var partition: Int
        /// Messages between the committed/stored offset and the high watermark.
        public var lag: Int64

        /// Creates a partition lag entry.
        public init(topic: String, partition: Int, lag: Int64) {
            self.topic = topic
            self.partition = partition
            self.lag = lag
        }
    }

    /// Top-level `msg_cnt`: messages in the client's queues (for a producer: awaiting delivery).
    public var messageCount: Int64?
    /// Known consumer lags, sorted by topic then partition. Partitions `-1` and lags of `-1`
    /// ("unknown": not assigned, or no offset stored yet) are omitted.
    public var partitionLags: [PartitionLag]

    /// Creates statistics from already-extracted values.
    public init(messageCount: Int64?, partitionLags: [PartitionLag]) {
        self.messageCount = messageCount
        self.partitionLags = partitionLags
    }

    /// Why a statistics document could not be used.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// The text is not a JSON object.
        case notAJSONObject(reason: String)

        public var description: String {
            switch self {
            case .notAJSONObject(let reason):
                return "librdkafka statistics callback delivered a document that is not a JSON object (\(reason)); "
                    + "consumer_lag/producer queue metrics keep their previous values"
            }
        }
    }

    /// Parses a librdkafka statistics JSON document.
    ///
    /// Missing or malformed sub-objects are skipped rather than failing the whole document,
    /// because the schema grows between librdkafka versions.
    public static func parse(json: String) throws(ParseError) -> LibrdkafkaStatistics {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [])
        } catch {
            throw .notAJSONObject(reason: "\(error)")
        }
        guard let root = object as? [String: Any] else {
            throw .notAJSONObject(reason: "top-level value is not an object")
        }

        var lags: [PartitionLag] = []
        if let topics = root["topics"] as? [String: Any] {
            for (topicKey, topicValue) in topics {
                guard let topic = topicValue as? [String: Any],
                    let partitions = topic["partitions"] as? [String: Any]
                else { continue }
                let topicName = (topic["topic"] as? String) ?? topicKey
                for (partitionKey, partitionValue) in partitions {
                    guard let partitionID = Int(partitionKey), partitionID >= 0,
                        let partition = partitionValue as? [String: Any],
                        let lag = Self.int64(partition["consumer_lag_stored"]), lag >= 0
                    else { continue }
                    lags.append(PartitionLag(topic: topicName, partition: partitionID, lag: lag))
                }
            }
        }
        lags.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        return LibrdkafkaStatistics(messageCount: Self.int64(root["msg_cnt"]), partitionLags: lags)
    }

    /// Extracts an integer from a JSONSerialization number, whatever its bridged type.
    private static func int64(_ value: Any?) -> Int64? {
        switch value {
        case let v as Int: return Int64(v)
        case let v as Int64: return v
        case let v as Double: return v.isFinite ? Int64(exactly: v.rounded()) : nil
        case let v as NSNumber: return v.int64Value
        default: return nil
        }
    }
}

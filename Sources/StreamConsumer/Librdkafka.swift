import Crdkafka

/// Facts about the librdkafka library linked into this process (only StreamConsumer imports Crdkafka).
public enum Librdkafka {
    /// librdkafka's version string at run time, e.g. `"2.0.2"` (`rd_kafka_version_str`).
    public static var version: String { string(fromC: rd_kafka_version_str()) }
}

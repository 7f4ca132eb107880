/// How the daemon gets its input: real brokers (`consumerd run`) or the embedded demo (`consumerd demo`).
enum DaemonMode: String, Sendable {
    /// `KAFKA_BOOTSTRAP_SERVERS` names the brokers; it is required.
    case run
    /// librdkafka's mock cluster in this process, fed with the bundled real ticks.
    case demo
}

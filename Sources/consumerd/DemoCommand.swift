import ArgumentParser

/// Runs the daemon on the embedded demo: librdkafka's mock cluster in this process, fed with the bundled ticks.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the daemon on an embedded mock Kafka cluster fed with the bundled real ticks (no brokers needed).",
        discussion: """
            Predictions flow within seconds; the banner, /readyz and the status page (GET / on the metrics port) say \
            "demo". KAFKA_BOOTSTRAP_SERVERS is ignored; DEMO_SPEEDUP and DEMO_TICKS_PATH shape the input, every other \
            variable works as for `consumerd run`.
            """
    )

    func run() async throws {
        try await Daemon.run(mode: .demo)
    }
}

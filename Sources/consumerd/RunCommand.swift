import ArgumentParser

/// Runs the daemon against real brokers (the default subcommand).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon against the brokers in KAFKA_BOOTSTRAP_SERVERS (the default subcommand).",
        discussion: HelpText.variables(intro: "Configured by environment variables (KAFKA_BOOTSTRAP_SERVERS is required):")
    )

    func run() async throws {
        try await Daemon.run(mode: .run)
    }
}

import ArgumentParser

/// `consumerd`: the volatility-spike prediction daemon and its tools.
@main
struct Consumerd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumerd",
        abstract: "Reads ticks from Kafka, computes features, predicts volatility spikes and publishes every prediction.",
        discussion: """
            Configuration is read from the environment (`consumerd run` is the default subcommand):

            \(DaemonConfiguration.documentedVariables.map { variable in
                "  \(variable.name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(variable.meaning) [default: \(variable.defaultValue)]"
            }.joined(separator: "\n"))

            Invalid configuration stops the daemon with one line naming the variable and exit code 2.
            """,
        version: BuildInfo.version,
        subcommands: [RunCommand.self, ReplayCommand.self, MockClusterCommand.self, AuditCommand.self, ValidateModelCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

/// Identity reported by `--version` and `volatility_consumer_build_info`.
enum BuildInfo {
    static let version = "0.1.0"
    #if compiler(>=6.3)
    static let swift = "6.3"
    #elseif compiler(>=6.2)
    static let swift = "6.2"
    #else
    static let swift = "6.x"
    #endif
}

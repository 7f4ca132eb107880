import ArgumentParser
import StreamConsumer

/// `consumerd`: the volatility-spike prediction daemon and its tools.
@main
struct Consumerd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumerd",
        abstract: "Reads ticks from Kafka, computes features, predicts volatility spikes and publishes every prediction.",
        discussion: HelpText.variables(
            intro: "`consumerd run` (the default) needs KAFKA_BOOTSTRAP_SERVERS; `consumerd demo` runs without brokers. Environment variables:"
        ),
        version: BuildInfo.versionLine,
        subcommands: [
            RunCommand.self, DemoCommand.self, ReplayCommand.self, MockClusterCommand.self, AuditCommand.self,
            ConfigCommand.self, CheckCommand.self, ValidateModelCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}

/// Identity reported by `--version`, the start-up banner and `volatility_consumer_build_info`.
enum BuildInfo {
    static let version = "0.1.0"
    /// The git revision this binary was built from (the GitRevision build plugin); "unknown" outside git.
    static let revision = GitRevision.value
    /// The linked librdkafka's version, asked at run time.
    static var librdkafka: String { Librdkafka.version }
    /// `consumerd --version`.
    static var versionLine: String { "consumerd \(version) (revision \(revision), librdkafka \(librdkafka), Swift \(swift))" }
    #if compiler(>=6.3)
    static let swift = "6.3"
    #elseif compiler(>=6.2)
    static let swift = "6.2"
    #else
    static let swift = "6.x"
    #endif
}

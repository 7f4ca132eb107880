import ArgumentParser
import Foundation

/// `consumerd config`: the effective configuration and the source of every value, secrets redacted.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the effective configuration with the source of each value (environment, file, default).",
        discussion: "Secrets (KAFKA_CONF_* passwords and keys, *_FILE values, tokens) are shown as [REDACTED]. "
            + "An invalid configuration stops with exit code 2 and one line naming the variable, as `consumerd run` does."
    )

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.fromEnvironment(environment)
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        printLine(EffectiveConfiguration(environment: environment, configuration: configuration).render())
    }
}

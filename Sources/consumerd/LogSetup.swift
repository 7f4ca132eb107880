import Foundation
import Logging
import StreamConsumer

/// `LOG_LEVEL` and `LOG_FORMAT`, applied once through `LoggingSystem.bootstrap`; repeated warnings are
/// rate-limited in both formats (``LogRateLimit``).
struct LogSetup: Sendable {
    var level: Logger.Level
    var json: Bool

    static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> LogSetup {
        let reader = EnvironmentReader(environment)
        let levelText = reader.string("LOG_LEVEL")?.lowercased() ?? "info"
        guard let level = Logger.Level(rawValue: levelText == "warn" ? "warning" : levelText) else {
            throw ConfigurationError(
                variable: "LOG_LEVEL",
                reason: "'\(levelText)' is not a level: use trace, debug, info, notice, warning, error or critical"
            )
        }
        let format = reader.string("LOG_FORMAT")?.lowercased() ?? "text"
        guard format == "text" || format == "json" else {
            throw ConfigurationError(variable: "LOG_FORMAT", reason: "'\(format)' is not a format: use text or json")
        }
        return LogSetup(level: level, json: format == "json")
    }

    func bootstrap() {
        let level = self.level
        let limiter = LogRateLimiter()
        if json {
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return RateLimitedLogHandler(wrapped: handler, label: label, limiter: limiter)
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return RateLimitedLogHandler(wrapped: handler, label: label, limiter: limiter)
            }
        }
    }
}

import Foundation
import Logging
import StreamConsumer

/// `LOG_LEVEL` and `LOG_FORMAT`, applied once through `LoggingSystem.bootstrap`.
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
        if json {
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// One JSON object per line on standard error: `{"ts":…,"level":…,"label":…,"message":…, metadata…}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": String(format: "%.6f", Clock.wallSeconds()),
            "level": event.level.rawValue,
            "label": label,
            "message": "\(event.message)",
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged where object[key] == nil {
            object[key] = Self.plain(value)
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }

    private static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let array): return array.map(plain)
        case .dictionary(let dictionary): return dictionary.mapValues(plain)
        }
    }
}

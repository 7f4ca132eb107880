import Foundation
import StreamConsumer

/// The model settings read once at start-up (a reload re-reads only ``ModelSpec``'s file).
struct ModelSettings: Sendable {
    /// `MODEL_CONFIG_FILE`: JSON overriding the environment's model spec, re-read on every reload.
    var configFile: String?
    /// `MODEL_FALLBACK=baseline`: an ML model that cannot be loaded (or scores a record non-finite) is replaced
    /// by the baseline instead of stopping the daemon (start-up), keeping the old model (reload) or dead-lettering
    /// the record.
    var fallbackToBaseline: Bool
    /// `SHADOW_TOPIC`: where shadow predictions are published (one per prediction); unset: not published.
    var shadowTopic: String?
    /// The admin listener, off unless `ADMIN_TOKEN` (or `ADMIN_TOKEN_FILE`) is set.
    var admin: AdminSettings?
    /// `CONSUMERD_FAULT_NAN_MARKER` (tests only).
    var nonFiniteInjection: NonFiniteScoreInjection?

    static func fromEnvironment(_ reader: EnvironmentReader) throws(ConfigurationError) -> ModelSettings {
        let fallback: Bool
        switch reader.string("MODEL_FALLBACK")?.lowercased() {
        case nil, "none", "off": fallback = false
        case "baseline": fallback = true
        case let other?:
            throw ConfigurationError(variable: "MODEL_FALLBACK", reason: "'\(other)' is not valid: use baseline, or leave it unset")
        }
        return ModelSettings(
            configFile: reader.string("MODEL_CONFIG_FILE"),
            fallbackToBaseline: fallback,
            shadowTopic: try reader.string("SHADOW_TOPIC").map { _ throws(ConfigurationError) in
                try reader.topic("SHADOW_TOPIC", default: "")
            },
            admin: try AdminSettings.fromEnvironment(reader),
            nonFiniteInjection: reader.string("CONSUMERD_FAULT_NAN_MARKER").map {
                NonFiniteScoreInjection(marker: ByteMarker(bytes: Array($0.utf8)))
            }
        )
    }
}

/// The admin listener's address and bearer token.
struct AdminSettings: Sendable {
    var host: String
    var port: Int
    var token: [UInt8]

    /// Tokens shorter than this are refused: the admin endpoint can switch the model.
    static let minimumTokenLength = 16

    /// `nil` unless `ADMIN_TOKEN` or `ADMIN_TOKEN_FILE` is set (nothing listens then).
    static func fromEnvironment(_ reader: EnvironmentReader) throws(ConfigurationError) -> AdminSettings? {
        guard let token = try reader.secret("ADMIN_TOKEN") else { return nil }
        guard token.utf8.count >= minimumTokenLength else {
            throw ConfigurationError(
                variable: "ADMIN_TOKEN",
                reason: "must be at least \(minimumTokenLength) characters (e.g. `openssl rand -hex 32`)"
            )
        }
        let port = try reader.integer("ADMIN_PORT", default: 8002, in: 0...65_535)
        let host = reader.string("ADMIN_HOST") ?? "127.0.0.1"
        if port != 0, port == (try reader.integer("METRICS_PORT", default: 8001, in: 0...65_535)) {
            throw ConfigurationError(variable: "ADMIN_PORT", reason: "\(port) is the metrics port: the admin listener needs its own")
        }
        return AdminSettings(host: host, port: port, token: Array(token.utf8))
    }
}

extension EnvironmentReader {
    /// A secret: the value of `NAME`, or the contents of the file named by `NAME_FILE` (one trailing newline
    /// stripped). Never logged. Both set, or an unreadable file, stops start-up naming the variable.
    func secret(_ name: String) throws(ConfigurationError) -> String? {
        let direct = environment[name].flatMap { $0.isEmpty ? nil : $0 }
        guard let file = string(name + "_FILE") else { return direct }
        guard direct == nil else {
            throw ConfigurationError(variable: name + "_FILE", reason: "set either \(name) or \(name)_FILE, not both")
        }
        let text: String
        switch SecretFiles.readFromDisk(file) {
        case .success(let value): text = value
        case .failure(let error): throw ConfigurationError(variable: name + "_FILE", reason: "cannot read '\(file)': \(error)")
        }
        guard !text.isEmpty else { throw ConfigurationError(variable: name + "_FILE", reason: "'\(file)' is empty") }
        return text
    }
}

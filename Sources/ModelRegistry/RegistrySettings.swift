import Foundation

/// The registry part of the daemon's environment: `MODEL_URI`, `MLFLOW_TRACKING_URI`, `MLFLOW_TRACKING_TOKEN` or
/// `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`, `MODEL_CACHE_DIR`.
public struct RegistrySettings: Sendable, Equatable {
    /// `MODEL_URI`; `nil` when unset (the registry is not used).
    public var modelURI: ModelURI?
    /// `MLFLOW_TRACKING_URI`; set whenever ``modelURI`` is (else start-up fails).
    public var trackingURI: URL?
    public var auth: RegistryAuth
    /// `MODEL_CACHE_DIR`, else `$CACHE_DIRECTORY/models` (systemd's `CacheDirectory=`; the first of several), else
    /// `.cache/consumerd/models` under the working directory.
    public var cacheDirectory: String

    public static let defaultCacheDirectory = ".cache/consumerd/models"

    /// - Throws: ``RegistrySettingsError`` naming the variable to fix (the daemon exits 2 with it).
    public static func fromEnvironment(_ environment: [String: String]) throws(RegistrySettingsError) -> RegistrySettings {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        let modelURI = try parseURI(value("MODEL_URI"), variable: "MODEL_URI")
        var trackingURI: URL?
        if let text = value("MLFLOW_TRACKING_URI") {
            trackingURI = try parseTrackingURI(text)
        } else if modelURI != nil {
            throw RegistrySettingsError(
                variable: "MLFLOW_TRACKING_URI",
                reason: "must be set to the MLflow tracking server (e.g. http://127.0.0.1:5000) when MODEL_URI is set"
            )
        }
        let auth: RegistryAuth
        let token = value("MLFLOW_TRACKING_TOKEN")
        let username = value("MLFLOW_TRACKING_USERNAME")
        // Passwords may have meaningful spaces: only an empty one counts as unset.
        let password = environment["MLFLOW_TRACKING_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        switch (token, username, password) {
        case (nil, nil, nil):
            auth = .none
        case (let token?, nil, nil):
            auth = .bearer(token: token)
        case (nil, let username?, let password?):
            auth = .basic(username: username, password: password)
        case (nil, _?, nil):
            throw RegistrySettingsError(variable: "MLFLOW_TRACKING_PASSWORD", reason: "must be set when MLFLOW_TRACKING_USERNAME is")
        case (nil, nil, _?):
            throw RegistrySettingsError(variable: "MLFLOW_TRACKING_USERNAME", reason: "must be set when MLFLOW_TRACKING_PASSWORD is")
        case (_?, _, _):
            throw RegistrySettingsError(
                variable: "MLFLOW_TRACKING_TOKEN",
                reason: "set either MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD, not both"
            )
        }
        let cacheDirectory: String
        if let explicit = value("MODEL_CACHE_DIR") {
            cacheDirectory = explicit
        } else if let systemd = value("CACHE_DIRECTORY")?.split(separator: ":").first {
            cacheDirectory = "\(systemd)/models"
        } else {
            cacheDirectory = defaultCacheDirectory
        }
        return RegistrySettings(modelURI: modelURI, trackingURI: trackingURI, auth: auth, cacheDirectory: cacheDirectory)
    }

    /// Resolves `uri` (default ``modelURI``; a reload may name another, e.g. from `MODEL_CONFIG_FILE`) against these
    /// settings' server, credentials and cache: registry, else cache, else `fallbackFile` (`MODEL_PATH`).
    /// Returns `nil` when there is no URI (the registry is not used: load `MODEL_PATH` as before).
    public func resolve(
        _ uri: ModelURI? = nil,
        fallbackFile: String?,
        limits: RegistryLimits = RegistryLimits()
    ) async throws(ModelResolutionError) -> ModelResolution? {
        guard let uri = uri ?? modelURI else { return nil }
        guard let trackingURI else { throw .noTrackingServer(uri: uri) }
        return try await ModelSourceResolver.resolve(
            uri: uri, trackingURI: trackingURI, auth: auth, cacheDir: cacheDirectory, fallbackFile: fallbackFile, limits: limits
        )
    }

    /// Parses a model URI variable (`MODEL_URI`, `SHADOW_MODEL_URI`, a `model_uri` config key); `nil` stays `nil`.
    public static func parseURI(_ text: String?, variable: String) throws(RegistrySettingsError) -> ModelURI? {
        guard let text else { return nil }
        do {
            return try ModelURI(parsing: text)
        } catch {
            throw RegistrySettingsError(variable: variable, reason: error.description)
        }
    }

    static func parseTrackingURI(_ text: String) throws(RegistrySettingsError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw RegistrySettingsError(
                variable: "MLFLOW_TRACKING_URI",
                reason: "'\(text)' is not an http:// or https:// address of an MLflow tracking server (file stores and Databricks profiles are not supported)"
            )
        }
        return url
    }
}

/// A registry setting that stops start-up (exit 2), named by its variable.
public struct RegistrySettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var variable: String
    public var reason: String

    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }

    public var description: String { "\(variable): \(reason)" }
}

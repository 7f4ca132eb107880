import ConsumerMetrics
import ModelRegistry

/// The MLflow model registry behind ``ModelLoader``'s plug point: `models:/…` URIs resolve through
/// ``ModelSourceResolver`` (registry → cache → the local file), with the server, credentials and cache directory
/// of ``RegistrySettings``.
struct MLflowRegistryResolver: ModelRegistryResolving {
    let settings: RegistrySettings

    /// The resolver when `MLFLOW_TRACKING_URI` is set; `nil` otherwise (a `models:/` URI is then a configuration
    /// error that ``ModelLoader`` reports).
    static func from(_ settings: RegistrySettings) -> MLflowRegistryResolver? {
        settings.trackingURI == nil ? nil : MLflowRegistryResolver(settings: settings)
    }

    func resolve(uri: String, fallbackFile: String) async throws -> RegistryResolution {
        let parsed = try ModelURI(parsing: uri)
        guard let resolution = try await settings.resolve(parsed, fallbackFile: fallbackFile) else {
            throw ModelResolutionError.noTrackingServer(uri: parsed)
        }
        return RegistryResolution(
            path: resolution.modelPath,
            source: ModelSourceLabel(resolution.source),
            note: resolution.registryError.map { error in
                let what = resolution.version.map { "cached \($0)" } ?? "local file \(resolution.modelPath)"
                return "model registry unavailable for \(parsed) (\(error)); using the \(what)"
            }
        )
    }
}

extension ModelSourceLabel {
    init(_ source: ModelSource) {
        switch source {
        case .registry: self = .registry
        case .cache: self = .cache
        case .file: self = .file
        }
    }
}

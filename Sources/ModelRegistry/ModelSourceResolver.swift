import FeaturePipeline
import Foundation

/// Where the model the daemon loads came from; the label of `volatility_consumer_model_source{source=…}`.
public enum ModelSource: String, Sendable, CaseIterable {
    /// Downloaded from the registry just now.
    case registry
    /// The registry failed: the last copy downloaded for this URI.
    case cache
    /// The registry failed and nothing was cached: the local `MODEL_PATH`.
    case file
}

/// What to load: the model file, where it came from, and the version to report.
public struct ModelResolution: Sendable, Equatable {
    public var source: ModelSource
    /// The XGBoost JSON file to load with `LoadedModel.load(variant: .ml, modelPath:…)`.
    public var modelPath: String
    /// `volatility-xgb/3` for ``ModelSource/registry`` and ``ModelSource/cache`` (also in the file's `.meta.json`
    /// sidecar, so `LoadedModel.version` reports it); `nil` for ``ModelSource/file`` (LoadedModel derives it).
    public var version: String?
    /// The version's `.reference.json` artifact in the cache, when it had one.
    public var referencePath: String?
    /// The URI that was resolved.
    public var uri: ModelURI
    /// Why the registry was not used (``ModelSource/cache`` and ``ModelSource/file`` only).
    public var registryError: RegistryError?

    /// One log line: `model models:/m@champion: registry, version m/3, file …` or with the reason of a fallback.
    public var summary: String {
        var line = "model \(uri): \(source.rawValue)"
        if let version { line += ", version \(version)" }
        line += ", file \(modelPath)"
        if let registryError { line += " (registry failed: \(registryError))" }
        return line
    }
}

/// Why no model could be chosen.
public enum ModelResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The registry answered, but the version it names is unusable (does not load, no model file, no such
    /// version/alias/stage). Falling back would silently serve a model the operator did not choose: keep the
    /// current model (on reload) or stop (at start-up).
    case rejected(uri: ModelURI, error: RegistryError)
    /// The registry is unavailable, nothing is cached for this URI, and the local file is unset or missing.
    case nothingAvailable(uri: ModelURI, registryError: RegistryError, fallbackFile: String?)
    /// A model URI was given (e.g. by `MODEL_CONFIG_FILE` on reload) but `MLFLOW_TRACKING_URI` is not set.
    case noTrackingServer(uri: ModelURI)

    public var description: String {
        switch self {
        case .noTrackingServer(let uri):
            return "model \(uri) needs MLFLOW_TRACKING_URI (the MLflow tracking server), which is not set"
        case .rejected(let uri, let error):
            return "model \(uri) rejected: \(error)"
        case .nothingAvailable(let uri, let error, let file):
            let fileNote = file.map { "local model file '\($0)' does not exist" } ?? "MODEL_PATH is not set"
            return "model \(uri) unavailable: \(error); nothing cached for it and \(fileNote)"
        }
    }
}

extension RegistryError {
    /// `true` when the registry could not be asked or did not answer usefully (network, time-out, credentials,
    /// server error, garbled answer, unwritable cache): the cached copy or the local file stands in. `false` when
    /// it answered and the answer is a model version that cannot be used (``ModelResolutionError/rejected``).
    public var isUnavailability: Bool {
        switch self {
        case .unreachable, .unauthorized, .invalidResponse, .cacheNotWritable: return true
        case .httpStatus(_, let status, _): return status >= 500 || status == 429 || status == 408
        case .notFound, .noVersionInStage, .versionNotReady, .unsupportedArtifactLocation, .invalidMLmodel, .noModelFile,
            .artifactTooLarge, .modelDoesNotLoad:
            return false
        }
    }
}

/// Chooses the model file for a registry URI, at start-up and on every reload: registry → cache → local file.
public enum ModelSourceResolver {
    /// - Parameters:
    ///   - uri: `MODEL_URI`.
    ///   - trackingURI: `MLFLOW_TRACKING_URI` (e.g. `http://127.0.0.1:5000`).
    ///   - auth: from `MLFLOW_TRACKING_TOKEN` or `MLFLOW_TRACKING_USERNAME` / `_PASSWORD`.
    ///   - cacheDir: `MODEL_CACHE_DIR`.
    ///   - fallbackFile: `MODEL_PATH`, used when the registry is unavailable and nothing is cached.
    ///   - limits: per-request time-out and size caps; the whole registry attempt is also bounded by
    ///     `limits.totalTimeoutSeconds`.
    /// - Throws: ``ModelResolutionError``.
    public static func resolve(
        uri: ModelURI,
        trackingURI: URL,
        auth: RegistryAuth,
        cacheDir: String,
        fallbackFile: String?,
        limits: RegistryLimits = RegistryLimits()
    ) async throws(ModelResolutionError) -> ModelResolution {
        let cache = ModelCache(root: cacheDir)
        let registryError: RegistryError
        switch await fetch(uri: uri, trackingURI: trackingURI, auth: auth, cache: cache, limits: limits) {
        case .success(let entry):
            return ModelResolution(
                source: .registry, modelPath: entry.modelPath, version: entry.modelVersion,
                referencePath: entry.referencePath, uri: uri, registryError: nil
            )
        case .failure(let error):
            guard error.isUnavailability else { throw .rejected(uri: uri, error: error) }
            registryError = error
        }
        if let entry = cache.entry(for: uri) {
            return ModelResolution(
                source: .cache, modelPath: entry.modelPath, version: entry.modelVersion,
                referencePath: entry.referencePath, uri: uri, registryError: registryError
            )
        }
        if let fallbackFile, FileManager.default.fileExists(atPath: fallbackFile) {
            return ModelResolution(
                source: .file, modelPath: fallbackFile, version: nil, referencePath: nil, uri: uri, registryError: registryError
            )
        }
        throw .nothingAvailable(uri: uri, registryError: registryError, fallbackFile: fallbackFile)
    }

    /// The registry step alone (download, verify, cache), bounded by `limits.totalTimeoutSeconds`.
    public static func fetch(
        uri: ModelURI,
        trackingURI: URL,
        auth: RegistryAuth,
        cache: ModelCache,
        limits: RegistryLimits = RegistryLimits()
    ) async -> Result<ModelCacheEntry, RegistryError> {
        let client = MLflowClient(trackingURI: trackingURI, auth: auth, limits: limits)
        defer { client.close() }
        let fetcher = RegistryFetcher(client: client, cache: cache)
        let shown = MLflowHTTP.display(trackingURI)
        return await withTaskGroup(of: Result<ModelCacheEntry, RegistryError>?.self) { group in
            group.addTask {
                do throws(RegistryError) {
                    return .success(try await fetcher.fetch(uri))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(limits.totalTimeoutSeconds))
                return Task.isCancelled ? nil : .failure(.unreachable(url: shown, reason: "no model within \(Int(limits.totalTimeoutSeconds)) s"))
            }
            var outcome: Result<ModelCacheEntry, RegistryError> = .failure(.unreachable(url: shown, reason: "cancelled"))
            if let first = await group.next(), let result = first {
                outcome = result
            }
            group.cancelAll()
            return outcome
        }
    }
}

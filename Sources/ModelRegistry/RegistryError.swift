import FeaturePipeline

/// Why a model could not be fetched from the MLflow registry. Each message names the server address, model or
/// artifact concerned and what to check; none contains a credential.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No HTTP answer: connection refused, DNS, TLS, or the request timed out.
    case unreachable(url: String, reason: String)
    /// 401/403: the credentials are missing or not accepted.
    case unauthorized(url: String, status: Int)
    /// The server says the model, version, alias or artifact does not exist.
    case notFound(url: String, message: String)
    /// Any other non-2xx answer, with MLflow's `error_code`/`message` when it sent them.
    case httpStatus(url: String, status: Int, message: String)
    /// A 2xx answer whose body is not what MLflow's API documents.
    case invalidResponse(url: String, reason: String)
    /// The version exists but is not `READY` (registration pending or failed).
    case versionNotReady(version: String, status: String)
    /// `models:/NAME/STAGE` (or `latest`) matched no version.
    case noVersionInStage(model: String, stage: String)
    /// The version's artifacts are not reachable through the server's artifact proxy (e.g. a `file:` or `s3:`
    /// location of a server started without `--serve-artifacts`).
    case unsupportedArtifactLocation(String)
    /// The version's `MLmodel` file cannot be read as YAML with a `flavors` mapping.
    case invalidMLmodel(path: String, reason: String)
    /// Neither an xgboost flavour nor exactly one `.json` artifact identifies the model file.
    case noModelFile(location: String, reason: String)
    /// An artifact exceeds the download cap.
    case artifactTooLarge(path: String, limit: Int)
    /// The downloaded model file does not load (corrupt, wrong format, unsupported model).
    case modelDoesNotLoad(version: String, error: ModelLoadError)
    /// The cache directory cannot be written.
    case cacheNotWritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            return "MLflow server unreachable at \(url): \(reason)"
        case .unauthorized(let url, let status):
            return "MLflow server refused the credentials (HTTP \(status)) at \(url): check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD"
        case .notFound(let url, let message):
            return "not found in the MLflow registry (\(url)): \(message)"
        case .httpStatus(let url, let status, let message):
            return "MLflow server answered HTTP \(status) at \(url): \(message)"
        case .invalidResponse(let url, let reason):
            return "unexpected answer from the MLflow server at \(url): \(reason)"
        case .versionNotReady(let version, let status):
            return "model version \(version) is not ready in the registry (status \(status))"
        case .noVersionInStage(let model, let stage):
            return "registered model '\(model)' has no version in stage '\(stage)'"
        case .unsupportedArtifactLocation(let location):
            return "model artifacts at '\(location)' are not served by the tracking server's artifact proxy (start it with --serve-artifacts / --artifacts-destination)"
        case .invalidMLmodel(let path, let reason):
            return "MLmodel file '\(path)' is unusable: \(reason)"
        case .noModelFile(let location, let reason):
            return "no XGBoost JSON model file in '\(location)': \(reason)"
        case .artifactTooLarge(let path, let limit):
            return "artifact '\(path)' is larger than the \(limit)-byte download limit"
        case .modelDoesNotLoad(let version, let error):
            return "model \(version) from the registry does not load: \(error)"
        case .cacheNotWritable(let path, let reason):
            return "cannot write the model cache '\(path)': \(reason)"
        }
    }
}

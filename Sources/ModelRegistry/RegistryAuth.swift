import Foundation

/// How requests to the MLflow tracking server authenticate: MLflow's own client variables
/// (`MLFLOW_TRACKING_TOKEN` → bearer, else `MLFLOW_TRACKING_USERNAME` / `_PASSWORD` → basic).
public enum RegistryAuth: Sendable, Equatable, CustomStringConvertible {
    case none
    case bearer(token: String)
    case basic(username: String, password: String)

    /// The `Authorization` header value, or `nil` for ``none``.
    var headerValue: String? {
        switch self {
        case .none: return nil
        case .bearer(let token): return "Bearer \(token)"
        case .basic(let username, let password): return "Basic \(Data("\(username):\(password)".utf8).base64EncodedString())"
        }
    }

    /// Never shows the secret (this value is logged).
    public var description: String {
        switch self {
        case .none: return "none"
        case .bearer: return "bearer token"
        case .basic(let username, _): return "basic (user '\(username)')"
        }
    }
}

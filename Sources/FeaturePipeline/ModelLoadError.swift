/// Why a model, baseline or model choice could not be loaded. Each message says what to fix.
public enum ModelLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read (missing, permissions, …).
    case unreadableFile(path: String, reason: String)
    /// The file is not valid JSON or not of the expected structure.
    case invalidJSON(path: String?, reason: String)
    /// The model's objective is not `binary:logistic`.
    case unsupportedObjective(String)
    /// The model's booster is not `gbtree` (or uses a feature this loader does not implement).
    case unsupportedBooster(String)
    /// A tree's arrays are inconsistent.
    case malformedTree(index: Int, reason: String)
    /// The model exceeds the safety caps on trees or nodes.
    case tooLarge(reason: String)
    /// `feature_names` contains names that are not model features, or duplicates.
    case unknownFeatureNames([String])
    /// The baseline parameters are unusable.
    case invalidBaseline(reason: String)
    /// The requested model variant is not one of ``ModelVariant``'s values.
    case unknownVariant(String)
    /// A version sidecar file exists but cannot be used.
    case invalidVersionSidecar(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read model file '\(path)': \(reason)"
        case .invalidJSON(let path, let reason):
            if let path { return "model file '\(path)' is not a valid model: \(reason)" }
            return "model is not valid: \(reason)"
        case .unsupportedObjective(let name):
            return "unsupported model objective '\(name)': only 'binary:logistic' models are supported"
        case .unsupportedBooster(let name):
            return "unsupported booster '\(name)': only 'gbtree' models with numerical splits are supported"
        case .malformedTree(let index, let reason):
            return "malformed tree \(index): \(reason)"
        case .tooLarge(let reason):
            return "model too large: \(reason)"
        case .unknownFeatureNames(let names):
            return "model uses unknown feature names \(names); supported: \(FeatureVector.names.joined(separator: ", "))"
        case .invalidBaseline(let reason):
            return "invalid baseline parameters: \(reason)"
        case .unknownVariant(let text):
            return "unknown model variant '\(text)': valid values are \"ml\" and \"baseline\""
        case .invalidVersionSidecar(let path, let reason):
            return "model version sidecar '\(path)' is unusable: \(reason)"
        }
    }
}

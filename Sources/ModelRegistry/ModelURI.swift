/// A model in an MLflow model registry, named in MLflow's own URI syntax:
/// `models:/NAME/VERSION`, `models:/NAME@ALIAS`, `models:/NAME/STAGE` (`None`, `Staging`, `Production`,
/// `Archived`, any case) or `models:/NAME/latest`.
public struct ModelURI: Sendable, Hashable, CustomStringConvertible {
    /// The registered model's name.
    public let name: String
    /// Which of its versions.
    public let reference: ModelReference

    public init(name: String, reference: ModelReference) {
        self.name = name
        self.reference = reference
    }

    /// Parses `text` the way MLflow's `_parse_model_uri` does (a digit-only second part is a version, `latest` the
    /// newest version, any other word a stage; `@` separates an alias), but accepts only the four stages MLflow
    /// knows, so a typo is reported here rather than as an empty answer from the server.
    /// - Throws: ``ModelURIError`` naming what is wrong.
    public init(parsing text: String) throws(ModelURIError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix(Self.scheme) else { throw .notAModelsURI(trimmed) }
        var path = Substring(trimmed.dropFirst(Self.scheme.count))
        if path.hasPrefix("//") {
            // `models://profile@databricks/NAME/1`: a registry named in the URI itself (Databricks profiles).
            throw .registryInURI(trimmed)
        }
        while path.hasPrefix("/") { path = path.dropFirst() }
        if path.hasSuffix("/") { path = path.dropLast() }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            let part = parts[0]
            guard let at = part.lastIndex(of: "@") else {
                if part.isEmpty { throw .missingName(trimmed) }
                throw .missingVersion(trimmed)
            }
            let name = part[..<at]
            let alias = part[part.index(after: at)...]
            guard !name.isEmpty else { throw .missingName(trimmed) }
            guard !alias.isEmpty else { throw .emptyAlias(trimmed) }
            self.init(name: String(name), reference: .alias(String(alias)))
        case 2:
            let name = parts[0]
            let second = parts[1]
            guard !name.isEmpty else { throw .missingName(trimmed) }
            guard !name.contains("@") else { throw .aliasWithVersion(trimmed) }
            guard !second.isEmpty else { throw .missingVersion(trimmed) }
            if second.allSatisfy(\.isASCIIDigit) {
                guard let version = Int(second), version > 0 else { throw .invalidVersion(trimmed, String(second)) }
                self.init(name: String(name), reference: .version(version))
            } else if second.lowercased() == "latest" {
                self.init(name: String(name), reference: .latest)
            } else if let stage = ModelStage(caseInsensitive: String(second)) {
                self.init(name: String(name), reference: .stage(stage))
            } else {
                throw .unknownStage(trimmed, String(second))
            }
        default:
            throw .tooManyParts(trimmed)
        }
    }

    static let scheme = "models:"

    /// The canonical text: `models:/NAME/3`, `models:/NAME@champion`, `models:/NAME/Production`, `models:/NAME/latest`.
    public var description: String {
        switch reference {
        case .version(let version): return "models:/\(name)/\(version)"
        case .alias(let alias): return "models:/\(name)@\(alias)"
        case .stage(let stage): return "models:/\(name)/\(stage.rawValue)"
        case .latest: return "models:/\(name)/latest"
        }
    }
}

/// Which version of a registered model a ``ModelURI`` means.
public enum ModelReference: Sendable, Hashable {
    /// A fixed version number.
    case version(Int)
    /// The version an alias points at now (`@champion`).
    case alias(String)
    /// The newest version in a stage (stages are deprecated in MLflow 2.9+ but still served).
    case stage(ModelStage)
    /// The newest version in any stage.
    case latest
}

/// MLflow's model version stages, spelled as the server spells them.
public enum ModelStage: String, Sendable, Hashable, CaseIterable {
    case none = "None"
    case staging = "Staging"
    case production = "Production"
    case archived = "Archived"

    /// `production`, `PRODUCTION`, … → ``production``; `nil` for anything else.
    public init?(caseInsensitive text: String) {
        guard let stage = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
        self = stage
    }
}

/// Why a text is not a usable model URI. Each message shows the accepted forms.
public enum ModelURIError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAModelsURI(String)
    case registryInURI(String)
    case missingName(String)
    case missingVersion(String)
    case emptyAlias(String)
    case aliasWithVersion(String)
    case invalidVersion(String, String)
    case unknownStage(String, String)
    case tooManyParts(String)

    static let forms = "models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/STAGE (None, Staging, Production, Archived) or models:/NAME/latest"

    public var description: String {
        switch self {
        case .notAModelsURI(let uri):
            return "'\(uri)' is not a model registry URI: expected \(Self.forms)"
        case .registryInURI(let uri):
            return "'\(uri)' names a registry inside the URI (models://…), which is not supported: set MLFLOW_TRACKING_URI and use \(Self.forms)"
        case .missingName(let uri):
            return "'\(uri)' has no model name: expected \(Self.forms)"
        case .missingVersion(let uri):
            return "'\(uri)' names no version, alias or stage: expected \(Self.forms)"
        case .emptyAlias(let uri):
            return "'\(uri)' has an empty alias after '@': expected models:/NAME@ALIAS"
        case .aliasWithVersion(let uri):
            return "'\(uri)' combines an alias with a version or stage: use either models:/NAME@ALIAS or models:/NAME/VERSION"
        case .invalidVersion(let uri, let version):
            return "'\(uri)' has version '\(version)': model versions are whole numbers from 1"
        case .unknownStage(let uri, let stage):
            return "'\(uri)' has unknown stage '\(stage)': stages are None, Staging, Production, Archived (any case), versions are numbers"
        case .tooManyParts(let uri):
            return "'\(uri)' has too many '/'-separated parts: expected \(Self.forms)"
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

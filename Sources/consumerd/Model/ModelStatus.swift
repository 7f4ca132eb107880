import FeaturePipeline
import Foundation
import Synchronization

/// What caused the model set in force.
enum ModelTrigger: String, Sendable, Codable {
    case startup
    case signal
    case adminReload = "admin_reload"
    case adminRequest = "admin_request"
}

/// The document `GET /model` serves: which models score now, where they came from, and the last reload.
struct ModelStatus: Encodable, Sendable {
    struct Model: Encodable, Sendable {
        var variant: String
        var version: String
        var path: String
        /// The configured origin: a file path or a registry URI.
        var configured: String
        /// registry, cache or file.
        var source: String
        var threshold: Double
        var featureNames: [String]
    }

    struct Fallback: Encodable, Sendable {
        var enabled: Bool
        var active: Bool
        var reason: String?
        var detail: String?
    }

    struct Reload: Encodable, Sendable {
        var result: String
        var trigger: ModelTrigger
        var at: String
        var error: String?
    }

    var active: Model
    var shadow: Model?
    var fallback: Fallback
    /// Who set the models in force: the start-up configuration, a reload (signal/admin) or an admin request.
    var setBy: ModelTrigger
    /// `environment`, `MODEL_CONFIG_FILE` (its path) or `admin request`: where the spec in force was read.
    var configuredFrom: String
    var loadedAt: String
    var lastReload: Reload?
    var notes: [String]

    init(models: LoadedModels, setBy: ModelTrigger, configuredFrom: String, fallbackEnabled: Bool, lastReload: Reload?) {
        func describe(_ model: LoadedModel, configured: String, source: String) -> Model {
            Model(
                variant: model.variant.rawValue, version: model.version, path: model.path, configured: configured,
                source: source, threshold: model.threshold, featureNames: FeatureVector.names
            )
        }
        let set = models.set
        self.active = describe(set.active, configured: models.activeOrigin, source: models.activeSource.rawValue)
        self.shadow = set.shadow.map {
            describe($0, configured: models.shadowOrigin ?? $0.path, source: (models.shadowSource ?? .file).rawValue)
        }
        self.fallback = Fallback(
            enabled: fallbackEnabled, active: set.fallbackActive != nil,
            reason: set.fallbackActive?.reason.rawValue, detail: set.fallbackActive?.detail
        )
        self.setBy = setBy
        self.configuredFrom = configuredFrom
        self.loadedAt = Self.rfc3339(models.loadedAt)
        self.lastReload = lastReload
        self.notes = models.notes
    }

    enum CodingKeys: String, CodingKey {
        case active, shadow, fallback, notes
        case setBy = "set_by"
        case configuredFrom = "configured_from"
        case loadedAt = "loaded_at"
        case lastReload = "last_reload"
    }

    func json() -> [UInt8] { Self.jsonLine(self) }

    /// `value` as one JSON line the way `/model` and the admin answers write it (sorted snake_case keys).
    static func jsonLine(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(value) else { return Array("{}\n".utf8) }
        return Array(data) + [0x0A]
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-30T03:10:00.123Z`.
    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// The latest ``ModelStatus``, readable from any thread (the metrics endpoint renders it).
final class ModelStatusBoard: Sendable {
    private let status: Mutex<ModelStatus?> = Mutex(nil)

    func publish(_ value: ModelStatus) { status.withLock { $0 = value } }
    func json() -> [UInt8] { status.withLock { $0 }?.json() ?? Array("{}\n".utf8) }
}

import FeaturePipeline
import Foundation
import StreamConsumer

/// The reloadable part of the model configuration: which models score, from which files or registry URIs.
///
/// At start-up it comes from the environment, overridden by the JSON file `MODEL_CONFIG_FILE` when that is set;
/// a reload (SIGHUP, `POST /admin/reload`) reads the file again over the *start-up* environment (the environment
/// itself is never re-read); `POST /admin/model` applies a body of the same shape over the current spec.
struct ModelSpec: Sendable, Equatable {
    var variant: ModelVariant
    var modelPath: String
    var baselinePath: String
    /// `models:/NAME/VERSION|@ALIAS|/STAGE`: the ML model comes from the registry (``modelPath`` is the last resort).
    var modelURI: String?
    var shadowVariant: ModelVariant?
    /// The shadow's XGBoost file (``modelPath`` when unset).
    var shadowModelPath: String?
    var shadowModelURI: String?

    /// The keys a configuration file or admin request may set (each optional).
    static let keys: [String] = [
        "variant", "model_path", "baseline_path", "model_uri", "shadow_variant", "shadow_model_path", "shadow_model_uri",
    ]

    static func fromEnvironment(_ reader: EnvironmentReader) throws(ConfigurationError) -> ModelSpec {
        func variant(_ name: String, _ text: String) throws(ConfigurationError) -> ModelVariant {
            do {
                return try ModelVariant(parsing: text)
            } catch {
                throw ConfigurationError(variable: name, reason: "\(error)")
            }
        }
        let shadow = try reader.string("SHADOW_VARIANT").flatMap { text throws(ConfigurationError) -> ModelVariant? in
            Self.isOff(text) ? nil : try variant("SHADOW_VARIANT", text)
        }
        return ModelSpec(
            variant: try variant("MODEL_VARIANT", reader.string("MODEL_VARIANT") ?? "ml"),
            modelPath: reader.string("MODEL_PATH") ?? DaemonConfiguration.defaultModelPath,
            baselinePath: reader.string("BASELINE_PATH") ?? DaemonConfiguration.defaultBaselinePath,
            modelURI: reader.string("MODEL_URI"),
            shadowVariant: shadow,
            shadowModelPath: reader.string("SHADOW_MODEL_PATH"),
            shadowModelURI: reader.string("SHADOW_MODEL_URI")
        )
    }

    /// `none`/`off` (or an empty string) turns the shadow off in a file or request.
    static func isOff(_ text: String) -> Bool {
        ["", "none", "off"].contains(text.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// This spec with the keys of a JSON object (a configuration file or an admin request body) applied.
    /// Unknown keys are refused (a typo must not silently keep the old model).
    func applying(json data: Data, origin: String) throws(ModelSpecError) -> ModelSpec {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .invalid(origin: origin, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw .invalid(origin: origin, reason: "must be a JSON object with keys among \(Self.keys.joined(separator: ", "))")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw .invalid(origin: origin, reason: "unknown key '\(unknown)' (known: \(Self.keys.joined(separator: ", ")))")
        }
        func string(_ key: String) throws(ModelSpecError) -> String?? {
            guard let value = object[key] else { return .none }
            if value is NSNull { return .some(nil) }
            guard let text = value as? String else { throw .invalid(origin: origin, reason: "'\(key)' must be a string") }
            return .some(text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : text)
        }
        func variant(_ key: String, _ text: String) throws(ModelSpecError) -> ModelVariant {
            do {
                return try ModelVariant(parsing: text)
            } catch {
                throw .invalid(origin: origin, reason: "'\(key)': \(error)")
            }
        }
        var next = self
        if case .some(let text) = try string("variant") {
            guard let text else { throw .invalid(origin: origin, reason: "'variant' must be ml or baseline") }
            next.variant = try variant("variant", text)
        }
        if case .some(let path) = try string("model_path") {
            guard let path else { throw .invalid(origin: origin, reason: "'model_path' must not be empty") }
            next.modelPath = path
        }
        if case .some(let path) = try string("baseline_path") {
            guard let path else { throw .invalid(origin: origin, reason: "'baseline_path' must not be empty") }
            next.baselinePath = path
        }
        if case .some(let uri) = try string("model_uri") { next.modelURI = uri }
        if case .some(let text) = try string("shadow_variant") {
            next.shadowVariant = try text.flatMap { text throws(ModelSpecError) -> ModelVariant? in
                Self.isOff(text) ? nil : try variant("shadow_variant", text)
            }
        }
        if case .some(let path) = try string("shadow_model_path") { next.shadowModelPath = path }
        if case .some(let uri) = try string("shadow_model_uri") { next.shadowModelURI = uri }
        return next
    }

    /// The start-up spec: the environment's, with `MODEL_CONFIG_FILE` applied when set.
    static func effective(environment: ModelSpec, configFile: String?) throws(ModelSpecError) -> ModelSpec {
        guard let configFile else { return environment }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: configFile))
        } catch {
            throw .unreadable(path: configFile, reason: error.localizedDescription)
        }
        return try environment.applying(json: data, origin: configFile)
    }
}

/// A model configuration file or request that cannot be applied.
enum ModelSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(origin: String, reason: String)

    var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): cannot be read (\(reason))"
        case .invalid(let origin, let reason): "\(origin): \(reason)"
        }
    }
}

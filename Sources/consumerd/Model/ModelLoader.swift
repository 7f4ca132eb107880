import ConsumerMetrics
import FeaturePipeline
import Foundation

/// Where a model registry URI resolved to: a local file to load, the version to report, and whether the bytes
/// came from the registry, its cache or the local fallback file.
struct RegistryResolution: Sendable {
    var path: String
    var source: ModelSourceLabel
    /// Why the registry was not used (registry down, corrupt artifact…), for the log and `/model`.
    var note: String?
}

/// Resolves `models:/…` URIs (the MLflow registry client plugs in here).
protocol ModelRegistryResolving: Sendable {
    /// Resolves `uri` to a local model file; on registry failure the cached copy, else `fallbackFile`.
    func resolve(uri: String, fallbackFile: String) async throws -> RegistryResolution
}

/// A complete set of models ready to score, with where each came from.
struct LoadedModels: Sendable {
    var set: ModelSet
    var spec: ModelSpec
    var activeSource: ModelSourceLabel
    /// The file or URI the active model was configured from.
    var activeOrigin: String
    var shadowOrigin: String?
    var shadowSource: ModelSourceLabel?
    var loadedAt: Date
    /// Anything an operator should know about how the set was obtained (fallback, cache), one line each.
    var notes: [String]
}

/// Why a model set could not be loaded: the setting to fix and the problem.
struct ModelSetupError: Error, Sendable, CustomStringConvertible {
    /// The environment variable or configuration key that names the bad model (e.g. `MODEL_PATH`).
    var setting: String
    var reason: String

    var description: String { "\(setting): \(reason)" }
}

/// Loads a ``ModelSpec`` into a ``LoadedModels`` (files, or the registry), applying `MODEL_FALLBACK`.
struct ModelLoader: Sendable {
    var fallbackToBaseline: Bool
    var registry: (any ModelRegistryResolving)?

    func load(_ spec: ModelSpec) async throws(ModelSetupError) -> LoadedModels {
        var notes: [String] = []
        var fallback: LoadedModel?
        if fallbackToBaseline {
            fallback = try Self.loadFile(.baseline, spec.modelPath, spec.baselinePath, setting: "BASELINE_PATH")
        }
        let active: LoadedModel
        var activeSource = ModelSourceLabel.file
        var activeOrigin = spec.variant == .ml ? (spec.modelURI ?? spec.modelPath) : spec.baselinePath
        var activation: ModelSet.FallbackActivation?
        switch spec.variant {
        case .baseline:
            active = try Self.loadFile(.baseline, spec.modelPath, spec.baselinePath, setting: "BASELINE_PATH")
        case .ml:
            do {
                let (model, source, note) = try await loadML(uri: spec.modelURI, path: spec.modelPath, setting: "MODEL_PATH")
                active = model
                activeSource = source
                if let note { notes.append(note) }
            } catch {
                guard let fallback else { throw error }
                active = fallback
                activeOrigin = spec.baselinePath
                activation = ModelSet.FallbackActivation(reason: .loadError, detail: error.description)
                notes.append("the ML model could not be loaded (\(error)); the baseline scores every record (MODEL_FALLBACK=baseline)")
            }
        }
        var shadow: LoadedModel?
        var shadowOrigin: String?
        var shadowSource: ModelSourceLabel?
        switch spec.shadowVariant {
        case nil:
            break
        case .baseline:
            shadow = try Self.loadFile(.baseline, spec.modelPath, spec.baselinePath, setting: "BASELINE_PATH")
            shadowOrigin = spec.baselinePath
            shadowSource = .file
        case .ml:
            let path = spec.shadowModelPath ?? spec.modelPath
            let (model, source, note) = try await loadML(uri: spec.shadowModelURI, path: path, setting: "SHADOW_MODEL_PATH")
            shadow = model
            shadowOrigin = spec.shadowModelURI ?? path
            shadowSource = source
            if let note { notes.append("shadow: " + note) }
        }
        return LoadedModels(
            set: ModelSet(
                active: active, shadow: shadow, fallback: active.variant == .ml ? fallback : nil, fallbackActive: activation
            ),
            spec: spec, activeSource: activeSource, activeOrigin: activeOrigin, shadowOrigin: shadowOrigin,
            shadowSource: shadowSource, loadedAt: Date(), notes: notes
        )
    }

    /// An XGBoost model from the registry (when `uri` is set) or the file at `path`.
    private func loadML(uri: String?, path: String, setting: String) async throws(ModelSetupError)
        -> (LoadedModel, ModelSourceLabel, String?)
    {
        guard let uri else {
            return (try Self.loadFile(.ml, path, path, setting: setting), .file, nil)
        }
        guard let registry else {
            throw ModelSetupError(setting: "MODEL_URI", reason: "\(uri): no model registry is configured (set MLFLOW_TRACKING_URI)")
        }
        let resolution: RegistryResolution
        do {
            resolution = try await registry.resolve(uri: uri, fallbackFile: path)
        } catch {
            throw ModelSetupError(setting: "MODEL_URI", reason: "\(uri): \(error)")
        }
        let model = try Self.loadFile(.ml, resolution.path, resolution.path, setting: "MODEL_URI")
        return (model, resolution.source, resolution.note)
    }

    static func loadFile(_ variant: ModelVariant, _ modelPath: String, _ baselinePath: String, setting: String) throws(ModelSetupError) -> LoadedModel {
        do {
            return try LoadedModel.load(variant: variant, modelPath: modelPath, baselinePath: baselinePath)
        } catch {
            throw ModelSetupError(setting: setting, reason: "\(error)")
        }
    }
}

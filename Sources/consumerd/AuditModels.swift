import FeaturePipeline
import Foundation

/// The models an audit may meet in the outputs, by the identity each output names (`model_variant`,
/// `model_version`): an output is checked against the model it names, so a switch (reload, fallback, restart with
/// another model) is not a mismatch.
struct AuditModels {
    /// One `--model` / `--baseline` argument: `PATH`, or `VERSION=PATH` to name the version (a registry version
    /// such as `volatility-xgb/3`, which the file itself does not carry).
    struct Spec: Equatable {
        var variant: ModelVariant
        var version: String?
        var path: String

        /// `text` is a path when a file by that name exists; otherwise `VERSION=PATH` split at the first `=`.
        init(variant: ModelVariant, argument text: String, fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) {
            self.variant = variant
            if !fileExists(text), let equals = text.firstIndex(of: "="), equals != text.startIndex {
                self.version = String(text[..<equals])
                self.path = String(text[text.index(after: equals)...])
            } else {
                self.version = nil
                self.path = text
            }
        }
    }

    enum Failure: Error, CustomStringConvertible {
        case unloadable(option: String, argument: String, error: ModelLoadError)
        case ambiguous(variant: ModelVariant, version: String, paths: [String])
        case none

        var description: String {
            switch self {
            case .unloadable(let option, let argument, let error):
                "\(option) \(argument): \(error)"
            case .ambiguous(let variant, let version, let paths):
                "--model/--baseline: \(variant.rawValue) version \(version) names different files (\(paths.joined(separator: ", "))); give each its own VERSION=PATH"
            case .none:
                "no model to audit against: set MODEL_VARIANT/MODEL_PATH/BASELINE_PATH or pass --model/--baseline"
            }
        }
    }

    /// The loaded models, in argument order (the first also drives the replay's pipeline, whose feature state
    /// does not depend on the model).
    let models: [LoadedModel]
    private let byIdentity: [Identity: Int]

    struct Identity: Hashable {
        var variant: String
        var version: String
    }

    init(models: [LoadedModel]) throws(Failure) {
        guard !models.isEmpty else { throw .none }
        var byIdentity: [Identity: Int] = [:]
        var unique: [LoadedModel] = []
        for model in models {
            let identity = Identity(variant: model.variant.rawValue, version: model.version)
            if let existing = byIdentity[identity] {
                // The same file given twice is harmless; two files claiming one identity are not.
                guard unique[existing].path == model.path else {
                    throw .ambiguous(variant: model.variant, version: model.version, paths: [unique[existing].path, model.path])
                }
                continue
            }
            byIdentity[identity] = unique.count
            unique.append(model)
        }
        self.models = unique
        self.byIdentity = byIdentity
    }

    /// Loads every spec.
    static func load(_ specs: [Spec]) throws(Failure) -> AuditModels {
        var models: [LoadedModel] = []
        for spec in specs {
            let option = spec.variant == .ml ? "--model" : "--baseline"
            let argument = spec.version.map { "\($0)=\(spec.path)" } ?? spec.path
            do throws(ModelLoadError) {
                var loaded = try LoadedModel.load(variant: spec.variant, modelPath: spec.path, baselinePath: spec.path)
                if let version = spec.version { loaded = try renamed(loaded, to: version) }
                models.append(loaded)
            } catch {
                throw .unloadable(option: option, argument: argument, error: error)
            }
        }
        return try AuditModels(models: models)
    }

    /// `model` under another version name (the file is parsed again: ``LoadedModel`` keeps its parts private).
    private static func renamed(_ model: LoadedModel, to version: String) throws(ModelLoadError) -> LoadedModel {
        // Already read once by LoadedModel.load, which checked it is a readable regular file of sane size.
        guard let data = FileManager.default.contents(atPath: model.path) else {
            throw .unreadableFile(path: model.path, reason: "could not be read again")
        }
        switch model.variant {
        case .ml:
            return LoadedModel(variant: .ml, xgboost: try XGBoostModel(jsonData: data), baseline: nil, version: version, path: model.path)
        case .baseline:
            return LoadedModel(variant: .baseline, xgboost: nil, baseline: try BaselineModel(jsonData: data), version: version, path: model.path)
        }
    }

    /// The model an output names, or `nil` when none of the given models has that identity.
    func model(variant: String, version: String) -> LoadedModel? {
        byIdentity[Identity(variant: variant, version: version)].map { models[$0] }
    }

    /// `ml sha256:… (path)` per model, for the report.
    var descriptions: [String] {
        models.map { "\($0.variant.rawValue) \($0.version) (\($0.path))" }
    }
}

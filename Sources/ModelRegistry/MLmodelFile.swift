import Foundation
import Yams

/// The parts of an MLflow `MLmodel` file (YAML) that locate the XGBoost model: the `xgboost` flavour's `data`
/// entry (MLflow's xgboost flavour writes `data: model.json` with `model_format: json`) or, in other writers,
/// `model_data`.
struct MLmodelFile: Equatable {
    /// The model file's path relative to the model's artifact directory, from the xgboost flavour.
    var xgboostData: String?
    /// The flavour's `model_format` (`json`, `ubj`, `xgb`), when given.
    var xgboostFormat: String?
    /// All flavour names, for messages.
    var flavors: [String]

    /// - Throws: ``RegistryError/invalidMLmodel(path:reason:)``.
    init(yaml text: String, path: String) throws(RegistryError) {
        let node: Any?
        do {
            node = try Yams.load(yaml: text)
        } catch {
            throw .invalidMLmodel(path: path, reason: "not YAML: \(error)")
        }
        guard let root = node as? [String: Any] else {
            throw .invalidMLmodel(path: path, reason: "not a YAML mapping")
        }
        guard let flavors = root["flavors"] as? [String: Any] else {
            throw .invalidMLmodel(path: path, reason: "no 'flavors' mapping")
        }
        self.flavors = flavors.keys.sorted()
        guard let xgboost = flavors["xgboost"] as? [String: Any] else {
            self.xgboostData = nil
            self.xgboostFormat = nil
            return
        }
        let data = (xgboost["data"] as? String) ?? (xgboost["model_data"] as? String)
        guard let data, !data.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidMLmodel(path: path, reason: "the xgboost flavour has no 'data' (or 'model_data') file name")
        }
        let components = data.split(separator: "/")
        guard !data.hasPrefix("/"), !components.contains(".."), !components.isEmpty else {
            throw .invalidMLmodel(path: path, reason: "the xgboost flavour's data path '\(data)' leaves the model directory")
        }
        self.xgboostData = components.filter { $0 != "." }.joined(separator: "/")
        self.xgboostFormat = xgboost["model_format"] as? String
    }
}

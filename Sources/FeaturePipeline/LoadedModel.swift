import Crypto
import Foundation

/// The model the daemon scores with, plus the identity it reports in every output and metric.
public struct LoadedModel: Sendable {
    /// Which kind of model this is.
    public let variant: ModelVariant
    /// The model version: from a sidecar `<name>.meta.json` (`{"version": "…"}`) next to the loaded file when
    /// one exists, else `sha256:` plus the first 12 hex digits of the file's SHA-256. (An XGBoost file's own
    /// top-level `version` array is the library version, not the model's.)
    public let version: String
    /// The file that was loaded (the model file for `ml`, the baseline file for `baseline`).
    public let path: String
    /// The decision threshold reported in outputs: 0.5 (probability) for `ml`, the z threshold for `baseline`.
    public let threshold: Double

    private let xgboost: XGBoostModel?
    private let baseline: BaselineModel?

    /// Probability threshold of the ML model.
    public static let mlThreshold = 0.5

    /// Assembles a model from parts (for tests and tools). The variant's model must be given: an `ml` variant
    /// without `xgboost` (or `baseline` without `baseline`) predicts probability NaN and decision 0.
    public init(variant: ModelVariant, xgboost: XGBoostModel?, baseline: BaselineModel?, version: String, path: String) {
        self.variant = variant
        self.xgboost = xgboost
        self.baseline = baseline
        self.version = version
        self.path = path
        switch variant {
        case .ml: self.threshold = Self.mlThreshold
        case .baseline: self.threshold = baseline?.threshold ?? .nan
        }
    }

    /// Loads the model for `variant`: the XGBoost file at `modelPath` for `ml`, the baseline parameters at
    /// `baselinePath` for `baseline` (the other path is not touched).
    /// - Throws: ``ModelLoadError`` naming the file and the problem.
    public static func load(variant: ModelVariant, modelPath: String, baselinePath: String) throws(ModelLoadError) -> LoadedModel {
        switch variant {
        case .ml:
            let data = try FileReading.contents(of: modelPath)
            let model: XGBoostModel
            do {
                model = try XGBoostModel(jsonData: data)
            } catch {
                throw error.attributed(to: modelPath)
            }
            let version = try self.version(of: modelPath, data: data)
            return LoadedModel(variant: .ml, xgboost: model, baseline: nil, version: version, path: modelPath)
        case .baseline:
            let data = try FileReading.contents(of: baselinePath)
            let model: BaselineModel
            do {
                model = try BaselineModel(jsonData: data)
            } catch {
                throw error.attributed(to: baselinePath)
            }
            let version = try self.version(of: baselinePath, data: data)
            return LoadedModel(variant: .baseline, xgboost: nil, baseline: model, version: version, path: baselinePath)
        }
    }

    /// The sidecar path for a model file: `x/m.json` → `x/m.meta.json`; other names get `.meta.json` appended.
    public static func sidecarPath(for path: String) -> String {
        if path.hasSuffix(".json") { return String(path.dropLast(5)) + ".meta.json" }
        return path + ".meta.json"
    }

    /// `sha256:` + the first 12 hex digits of the SHA-256 of `data`.
    public static func contentVersion(of data: Data) -> String {
        let digest = SHA256.hash(data: data)
        let hex = digest.prefix(6).map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        return "sha256:" + hex
    }

    private static func version(of path: String, data: Data) throws(ModelLoadError) -> String {
        let sidecar = self.sidecarPath(for: path)
        guard FileReading.exists(sidecar) else { return self.contentVersion(of: data) }
        let sidecarData = try FileReading.contents(of: sidecar)
        guard let object = try? JSONSerialization.jsonObject(with: sidecarData) as? [String: Any] else {
            throw .invalidVersionSidecar(path: sidecar, reason: "not a JSON object")
        }
        guard let version = object["version"] as? String,
            !version.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw .invalidVersionSidecar(path: sidecar, reason: "missing non-empty string 'version'")
        }
        return version
    }

    /// Scores one feature vector. `ml`: decision `p ≥ 0.5`; `baseline`: decision `z ≥ threshold` (so a z
    /// exactly at the threshold, probability 0.5, is a spike).
    public func predict(_ f: FeatureVector) -> ModelScore {
        switch self.variant {
        case .ml:
            guard let xgboost else { return ModelScore(probability: .nan, prediction: 0) }
            let p = xgboost.probability(f)
            return ModelScore(probability: p, prediction: p >= Self.mlThreshold ? 1 : 0)
        case .baseline:
            guard let baseline else { return ModelScore(probability: .nan, prediction: 0) }
            let z = baseline.zScore(f)
            return ModelScore(probability: baseline.probability(f), prediction: z >= baseline.threshold ? 1 : 0)
        }
    }
}

extension ModelLoadError {
    /// Adds the file path to errors that were raised while parsing bytes without knowing their origin.
    func attributed(to path: String) -> ModelLoadError {
        switch self {
        case .invalidJSON(nil, let reason): return .invalidJSON(path: path, reason: reason)
        default: return self
        }
    }
}

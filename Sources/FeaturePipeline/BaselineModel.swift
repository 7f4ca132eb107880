import Foundation

/// The z-score rule on `midprice_return_std` that the original system falls back to:
/// `z = (x − mean) / std`, probability `1 / (1 + exp(−(z − threshold)))`, spike when `z ≥ threshold`.
public struct BaselineModel: Sendable, Equatable {
    /// Mean of `midprice_return_std` in the training data.
    public var mean: Double
    /// Standard deviation of `midprice_return_std` in the training data (> 0).
    public var std: Double
    /// The z-score at and above which a spike is predicted.
    public var threshold: Double

    /// Creates a baseline after checking the parameters are finite and `std > 0`.
    public init(mean: Double, std: Double, threshold: Double) throws(ModelLoadError) {
        guard mean.isFinite else { throw .invalidBaseline(reason: "mean \(mean) is not finite") }
        guard std.isFinite, std > 0 else {
            throw .invalidBaseline(reason: "std \(std) must be a finite number greater than 0")
        }
        guard threshold.isFinite else { throw .invalidBaseline(reason: "threshold \(threshold) is not finite") }
        self.mean = mean
        self.std = std
        self.threshold = threshold
    }

    /// Loads `{"feature": "midprice_return_std", "mean": …, "std": …, "threshold": …}`
    /// (the format of `config/models/baseline.json`).
    public init(jsonData: Data) throws(ModelLoadError) {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: jsonData) as? [String: Any] else {
                throw ModelLoadError.invalidJSON(path: nil, reason: "baseline file must be a JSON object")
            }
            object = parsed
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw .invalidJSON(path: nil, reason: "baseline file is not valid JSON (\(error.localizedDescription))")
        }
        if let feature = object["feature"] {
            guard let name = feature as? String, name == "midprice_return_std" else {
                throw .invalidBaseline(reason: "'feature' must be \"midprice_return_std\", got \(feature)")
            }
        }
        func number(_ key: String) throws(ModelLoadError) -> Double {
            guard let value = object[key] else { throw .invalidBaseline(reason: "missing '\(key)'") }
            guard let number = value as? NSNumber, !JSONValues.isBool(number) else {
                throw .invalidBaseline(reason: "'\(key)' is not a number")
            }
            return number.doubleValue
        }
        try self.init(mean: number("mean"), std: number("std"), threshold: number("threshold"))
    }

    /// `(midprice_return_std − mean) / std`.
    @inlinable
    public func zScore(_ f: FeatureVector) -> Double {
        (f.midpriceReturnStd - self.mean) / self.std
    }

    /// `1 / (1 + exp(−(z − threshold)))`.
    @inlinable
    public func probability(_ f: FeatureVector) -> Double {
        1 / (1 + exp(-(self.zScore(f) - self.threshold)))
    }
}

import Logging
import FeaturePipeline
import StreamConsumer

/// The environment of realised-label scoring and drift (issue 13), validated at start-up.
struct QualityConfiguration: Sendable, Equatable {
    /// H (`LABEL_HORIZON_SECONDS`).
    var labelHorizonSeconds: Double
    /// τ (`LABEL_THRESHOLD`); `nil`: the active model's reference file decides.
    var labelThreshold: Double?
    /// `LABEL_MAX_PENDING`.
    var labelMaxPending: Int
    /// `DRIFT_WINDOW_RECORDS`.
    var driftWindowRecords: Int
    /// `DRIFT_MIN_RECORDS`.
    var driftMinRecords: Int
    /// `OUTCOMES_TOPIC`; `nil`: outcomes are counted in metrics only.
    var outcomesTopic: String?

    static func fromEnvironment(_ reader: EnvironmentReader) throws(ConfigurationError) -> QualityConfiguration {
        let window = try reader.integer("DRIFT_WINDOW_RECORDS", default: 10_000, in: 1...10_000_000)
        let minimum = try reader.integer("DRIFT_MIN_RECORDS", default: 500, in: 1...10_000_000)
        guard minimum <= window else {
            throw ConfigurationError(
                variable: "DRIFT_MIN_RECORDS",
                reason: "\(minimum) exceeds DRIFT_WINDOW_RECORDS (\(window)): PSI would never be reported")
        }
        var threshold: Double?
        if reader.string("LABEL_THRESHOLD") != nil {
            threshold = try reader.double("LABEL_THRESHOLD", default: 0, in: 0...1)
        }
        var outcomes: String?
        if reader.string("OUTCOMES_TOPIC") != nil { outcomes = try reader.topic("OUTCOMES_TOPIC", default: "") }
        return QualityConfiguration(
            labelHorizonSeconds: try reader.double("LABEL_HORIZON_SECONDS", default: 60, in: 1...86_400),
            labelThreshold: threshold,
            labelMaxPending: try reader.integer(
                "LABEL_MAX_PENDING", default: LabelSettings.defaultMaxPending, in: 1...10_000_000),
            driftWindowRecords: window,
            driftMinRecords: minimum,
            outcomesTopic: outcomes
        )
    }

    /// What the daemon monitors for one loaded model: its reference (beside the model file), the label
    /// settings (τ from `LABEL_THRESHOLD`, else the reference), and the drift window.
    struct Resolved: Sendable {
        var reference: ReferenceProfile?
        /// `nil` when neither `LABEL_THRESHOLD` nor a reference gives τ: no horizons are opened.
        var labelSettings: LabelSettings?
        var drift: DriftMonitor?
    }

    /// Loads the reference of `model` and resolves τ.
    /// - Throws: ``ReferenceProfileError`` when a reference file exists but is unusable.
    func resolve(for model: LoadedModel) throws(ReferenceProfileError) -> Resolved {
        let reference = try ReferenceProfile.load(besideModel: model.path)
        let threshold = self.labelThreshold ?? reference?.labelThreshold
        return Resolved(
            reference: reference,
            labelSettings: threshold.map {
                LabelSettings(horizonSeconds: self.labelHorizonSeconds, threshold: $0, maxPending: self.labelMaxPending)
            },
            drift: reference.map {
                DriftMonitor(reference: $0, windowRecords: self.driftWindowRecords, minRecords: self.driftMinRecords)
            }
        )
    }
}

/// Start-up of model-quality monitoring: an unusable reference file stops the daemon (exit 2, naming the
/// model variable); a missing one only turns drift (and, without `LABEL_THRESHOLD`, realised labels) off.
enum QualityStartup {
    static func resolve(
        _ configuration: QualityConfiguration, model: LoadedModel, logger: Logger
    ) throws -> QualityConfiguration.Resolved {
        let resolved: QualityConfiguration.Resolved
        do {
            resolved = try configuration.resolve(for: model)
        } catch {
            let variable = model.variant == .ml ? "MODEL_PATH" : "BASELINE_PATH"
            throw exitForStartupFailure("\(variable): \(error)")
        }
        if resolved.reference == nil {
            logger.notice("no reference profile beside the model: drift metrics are off", metadata: [
                "expected": "\(ReferenceProfile.path(forModel: model.path))",
            ])
        }
        if let settings = resolved.labelSettings {
            logger.info("realised labels", metadata: [
                "horizon_seconds": "\(settings.horizonSeconds)", "threshold": "\(settings.threshold)",
                "max_pending": "\(settings.maxPending)",
            ])
        } else {
            logger.notice("realised labels are off: set LABEL_THRESHOLD or ship the model's reference profile")
        }
        return resolved
    }
}

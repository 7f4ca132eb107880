import ArgumentParser
import FeaturePipeline
import Foundation

/// `consumerd validate-model PATH`: loads a model and its reference profile, scores a tick file through the
/// daemon's own pipeline and prints a summary (positive rate, PSI against the reference, realised quality).
struct ValidateModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-model",
        abstract: "Check a model and its .reference.json against the bundled ticks.",
        discussion: """
            Loads the model at PATH (XGBoost JSON for --variant ml, baseline parameters for --variant baseline) and \
            the reference profile beside it (x/m.json -> x/m.reference.json), checks the feature names, scores \
            every tick of --ticks with the daemon's pipeline and prints the predicted positive rate, the PSI of \
            each feature and of the probability against the reference, and the realised precision, recall and \
            Brier score (label horizon and threshold from the reference). Exit status 1 when the model or its \
            reference cannot be used.
            """
    )

    @Argument(help: "The model file.")
    var path: String

    @Option(help: "ml or baseline.")
    var variant: String = "ml"

    @Option(help: "NDJSON tick file to score.")
    var ticks: String = "config/demo/coinbase-btc-usd-ticker.ndjson"

    @Option(help: "τ for the realised labels (default: the reference's label_threshold).")
    var labelThreshold: Double?

    @Option(help: "H in seconds for the realised labels (default: the reference's label_horizon_seconds).")
    var labelHorizonSeconds: Double?

    func run() throws {
        let variant: ModelVariant
        let model: LoadedModel
        let reference: ReferenceProfile
        do {
            variant = try ModelVariant(parsing: self.variant)
            model = try LoadedModel.load(variant: variant, modelPath: path, baselinePath: path)
            guard let loaded = try ReferenceProfile.load(besideModel: path) else {
                printLine("validate-model: no reference profile at \(ReferenceProfile.path(forModel: path)) (make one with training/train.py)")
                throw ExitCode(1)
            }
            reference = loaded
        } catch let error as ExitCode {
            throw error
        } catch {
            printLine("validate-model: \(error)")
            throw ExitCode(1)
        }
        let lines: [[UInt8]]
        do {
            lines = try Data(contentsOf: URL(fileURLWithPath: ticks)).split(separator: 0x0A).map { Array($0) }
        } catch {
            printLine("validate-model: cannot read --ticks '\(ticks)': \(error.localizedDescription)")
            throw ExitCode(1)
        }
        let settings = LabelSettings(
            horizonSeconds: labelHorizonSeconds ?? reference.labelHorizonSeconds,
            threshold: labelThreshold ?? reference.labelThreshold)
        let summary = ModelValidation.run(model: model, reference: reference, labels: settings, records: lines)
        printLine(summary.text(model: model, reference: reference, ticks: ticks))
    }
}

/// Scores records through a ``RecordPipeline`` with realised labels, as the daemon would, and summarises.
struct ModelValidation {
    var predictions = 0
    var positives = 0
    var featurePSI: [Double?] = []
    var predictionPSI: Double?
    var truePositives = 0
    var falsePositives = 0
    var falseNegatives = 0
    var trueNegatives = 0
    var unlabelled = 0
    var brierSum = 0.0

    var labels = LabelSettings(threshold: 0)

    static func run(
        model: LoadedModel, reference: ReferenceProfile, labels: LabelSettings, records: [[UInt8]]
    ) -> ModelValidation {
        var pipeline = RecordPipeline(model: model, labelSettings: labels)
        var features: [[Double]] = Array(repeating: [], count: FeatureVector.count)
        var probabilities: [Double] = []
        var result = ModelValidation()
        result.labels = labels
        for (offset, record) in records.enumerated() where !record.isEmpty {
            let outcome = record.withUnsafeBytes {
                pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: Date().timeIntervalSince1970, timings: nil)
            }
            for completed in pipeline.labels.completed {
                guard let actual = completed.realisedLabel else {
                    result.unlabelled += 1
                    continue
                }
                switch (completed.score.prediction, actual) {
                case (1, 1): result.truePositives += 1
                case (1, _): result.falsePositives += 1
                case (_, 1): result.falseNegatives += 1
                default: result.trueNegatives += 1
                }
                let error = completed.score.probability - Double(actual)
                result.brierSum += error * error
            }
            guard case .prediction(let prediction) = outcome else { continue }
            pipeline.openHorizon(
                source: RecordSource(topic: "validate", partition: 0, offset: Int64(offset)),
                first: HorizonScore(
                    role: .active, variant: model.variant, version: model.version,
                    probability: prediction.score.probability, prediction: prediction.score.prediction))
            result.predictions += 1
            result.positives += prediction.score.prediction
            for i in 0..<FeatureVector.count { features[i].append(prediction.features[i]) }
            probabilities.append(prediction.score.probability)
        }
        result.featurePSI = (0..<FeatureVector.count).map {
            DriftMonitor.psi(of: features[$0], against: reference.features[$0])
        }
        result.predictionPSI = DriftMonitor.psi(of: probabilities, against: reference.probability)
        return result
    }

    var labelled: Int { truePositives + falsePositives + falseNegatives + trueNegatives }
    var precision: Double { Double(truePositives) / Double(truePositives + falsePositives) }
    var recall: Double { Double(truePositives) / Double(truePositives + falseNegatives) }
    var brier: Double { brierSum / Double(labelled) }

    func text(model: LoadedModel, reference: ReferenceProfile, ticks: String) -> String {
        func f(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "n/a" }
            return String(format: "%.4f", value)
        }
        var lines = [
            "model \(model.variant.rawValue) \(model.version) (\(model.path))",
            "reference \(ReferenceProfile.path(forModel: model.path)): features ok",
            "scored \(predictions) predictions from \(ticks)",
            "positive rate \(f(Double(positives) / Double(max(predictions, 1)))) (reference \(f(reference.positiveRate)))",
        ]
        for (i, name) in FeatureVector.names.enumerated() { lines.append("psi \(name) \(f(featurePSI[i]))") }
        lines.append("psi probability \(f(predictionPSI))")
        lines.append(
            "realised (H = \(labels.horizonSeconds) s, tau = \(labels.threshold)): \(labelled) labelled (\(truePositives + falseNegatives) positive), \(unlabelled) unlabelled; "
                + "precision \(f(precision)) recall \(f(recall)) brier \(f(brier)) "
                + "(tp \(truePositives) fp \(falsePositives) fn \(falseNegatives) tn \(trueNegatives))")
        return lines.joined(separator: "\n")
    }
}

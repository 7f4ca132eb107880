import FeaturePipeline
import Foundation
import StreamConsumer
import Testing

@testable import consumerd

/// The model-quality variables: defaults, bad values named, and the reference found beside the model.
@Suite("Quality configuration")
struct QualityConfigurationTests {
    static func configuration(_ environment: [String: String]) throws(ConfigurationError) -> QualityConfiguration {
        try QualityConfiguration.fromEnvironment(EnvironmentReader(environment))
    }

    @Test func defaults() throws {
        let quality = try Self.configuration([:])
        #expect(quality == QualityConfiguration(
            labelHorizonSeconds: 60, labelThreshold: nil, labelMaxPending: 100_000, driftWindowRecords: 10_000,
            driftMinRecords: 500, outcomesTopic: nil))
    }

    @Test(arguments: [
        (["LABEL_HORIZON_SECONDS": "0"], "LABEL_HORIZON_SECONDS"),
        (["LABEL_THRESHOLD": "abc"], "LABEL_THRESHOLD"),
        (["LABEL_THRESHOLD": "-1"], "LABEL_THRESHOLD"),
        (["LABEL_MAX_PENDING": "0"], "LABEL_MAX_PENDING"),
        (["DRIFT_WINDOW_RECORDS": "100", "DRIFT_MIN_RECORDS": "500"], "DRIFT_MIN_RECORDS"),
        (["OUTCOMES_TOPIC": "bad topic"], "OUTCOMES_TOPIC"),
    ])
    func badValuesNameTheVariable(environment: [String: String], variable: String) {
        do {
            _ = try Self.configuration(environment)
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.variable == variable)
        }
    }

    @Test func thresholdComesFromTheReferenceUnlessSet() throws {
        let model = try LoadedModel.load(
            variant: .ml,
            modelPath: TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            baselinePath: "")
        let fromReference = try Self.configuration([:]).resolve(for: model)
        #expect(fromReference.labelSettings?.threshold == 2.8e-5)
        #expect(fromReference.drift?.reference.positiveRate == fromReference.reference?.positiveRate)
        let explicit = try Self.configuration(["LABEL_THRESHOLD": "3e-5", "LABEL_HORIZON_SECONDS": "30"]).resolve(for: model)
        #expect(explicit.labelSettings == LabelSettings(horizonSeconds: 30, threshold: 3e-5))
    }

    @Test func aBrokenReferenceIsAnErrorAndAMissingOneTurnsDriftOff() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quality-config-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelPath = directory.appendingPathComponent("m.json").path
        try FileManager.default.copyItem(
            atPath: TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            toPath: modelPath)
        let model = try LoadedModel.load(variant: .ml, modelPath: modelPath, baselinePath: "")
        let none = try Self.configuration([:]).resolve(for: model)
        #expect(none.reference == nil && none.drift == nil && none.labelSettings == nil)
        try Data(#"{"features": {}}"#.utf8).write(to: directory.appendingPathComponent("m.reference.json"))
        #expect(throws: ReferenceProfileError.self) { try Self.configuration([:]).resolve(for: model) }
    }
}

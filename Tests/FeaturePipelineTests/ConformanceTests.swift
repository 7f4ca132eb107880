import Foundation
import Testing

import FeaturePipeline

/// The recorded Coinbase ticks must reproduce the original pipeline's features and model outputs.
@Suite("Conformance with the reference pipeline")
struct ConformanceTests {
    @Test("features of every priced tick equal features-reference.csv row for row")
    func featuresMatchReference() throws {
        let reference = try loadReferenceRows()
        #expect(reference.count == 2_821)
        let decoder = RecordDecoder()
        var windows = FeatureWindows()
        var row = 0
        var mismatches: [String] = []
        for line in try fixtureLines(TestPaths.tickerFile) {
            let record = try decode(bytes: line, decoder: decoder)
            guard case .tick(let tick) = record, let features = windows.update(with: tick) else { continue }
            guard row < reference.count else {
                mismatches.append("more rows than the reference")
                break
            }
            let expected = reference[row]
            var problems: [String] = []
            if !nearlyEqual(tick.eventTime, expected.ts) { problems.append("ts \(tick.eventTime) vs \(expected.ts)") }
            if tick.productId != expected.pair { problems.append("pair \(tick.productId)") }
            if !nearlyEqual(tick.price, expected.rawPrice) { problems.append("price \(tick.price)") }
            if features.windowSize != expected.windowSize {
                problems.append("window_size \(features.windowSize) vs \(expected.windowSize)")
            }
            if !nearlyEqual(features.windowDuration, expected.windowDuration) {
                problems.append("window_duration \(features.windowDuration) vs \(expected.windowDuration)")
            }
            for i in 0..<FeatureVector.count where !nearlyEqual(features[i], expected.features[i]) {
                problems.append("\(FeatureVector.names[i]) \(features[i]) vs \(expected.features[i])")
            }
            if !problems.isEmpty, mismatches.count < 10 {
                mismatches.append("row \(row): " + problems.joined(separator: "; "))
            }
            row += 1
        }
        #expect(row == reference.count)
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test("XGBoost probabilities equal the real library's within 1e-6")
    func xgboostParity() throws {
        let model = try loadProductionModel()
        #expect(model.treeCount == 100)
        var worst = 0.0
        for row in try loadReferenceRows() {
            worst = max(worst, abs(model.probability(row.featureVector) - row.xgbProbability))
        }
        #expect(worst <= 1e-6, "largest difference \(worst)")
    }

    @Test("RecordPipeline over the fixture: 2,821 predictions, 3 no_price, 3 warming_up, no dead letters")
    func pipelineOverFixture() throws {
        let model = LoadedModel(
            variant: .ml, xgboost: try loadProductionModel(), baseline: nil, version: "test", path: "test")
        var pipeline = RecordPipeline(model: model)
        let reference = try loadReferenceRows()
        var predictions = 0
        var skips: [SkipReason: Int] = [:]
        var deadLetters: [RecordError] = []
        var timings = StageTimings()
        var worstProbability = 0.0
        for line in try fixtureLines(TestPaths.tickerFile) {
            let outcome = line.withUnsafeBytes { value in
                pipeline.process(value: value, key: nil, kafkaTimestamp: nil, now: testNow, timings: &timings)
            }
            switch outcome {
            case .prediction(let prediction):
                if predictions < reference.count {
                    let expected = reference[predictions].xgbProbability
                    worstProbability = max(worstProbability, abs(prediction.score.probability - expected))
                    #expect(prediction.score.prediction == (prediction.score.probability >= 0.5 ? 1 : 0))
                }
                predictions += 1
            case .skipped(let reason):
                skips[reason, default: 0] += 1
            case .deadLetter(let error):
                deadLetters.append(error)
            }
        }
        #expect(predictions == 2_821)
        #expect(skips[.noPrice] == 3)
        #expect(skips[.warmingUp] == 3)
        #expect(deadLetters.isEmpty)
        #expect(worstProbability <= 1e-6)
        #expect(pipeline.windows.productCount == 1)
    }
}

import FeaturePipeline
import Foundation
import Testing

@testable import consumerd

/// The embedded demo tells the truth: its passes over the bundled ticks give the reference features and
/// probabilities, sessions keep their timing and stay apart by more than max(60 s, H), and pass 0 lies in
/// the past.
@Suite("Demo timeline")
struct DemoTimelineTests {
    @Test("passes 0 and 1 give the bundled reference's features (1e-9) and probabilities (1e-6)", arguments: [60.0, 300.0])
    func passesMatchReference(horizon: Double) throws {
        let file = try TickFile.load(path: TestPaths.repositoryRoot.appendingPathComponent("config/demo/coinbase-btc-usd-ticker.ndjson").path)
        let timeline = DemoTimeline(file: file, labelHorizonSeconds: horizon)
        #expect(timeline.sessionStarts.count == 3)
        #expect(Double(timeline.sessionGap) > max(60, horizon))
        let reference = try ReferenceData.rows()
        let model = try LoadedModel.load(
            variant: .ml,
            modelPath: TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            baselinePath: TestPaths.repositoryRoot.appendingPathComponent("config/models/baseline.json").path)
        let start = 1_900_000_000.5
        var pipeline = RecordPipeline(model: model)
        var previousTime = -Double.infinity
        var featureMismatches: [String] = []
        var worstProbability = 0.0
        for pass in 0..<2 {
            var row = 0
            for (index, line) in file.lines.enumerated() {
                let shift = timeline.shift(line: index, pass: pass, start: start)
                let bytes = file.bytes(of: line, shiftedBySeconds: shift)
                let outcome = bytes.withUnsafeBytes {
                    pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: start + 1e7, timings: nil)
                }
                guard case .prediction(let prediction) = outcome else { continue }
                let expected = reference[row]
                row += 1
                // Exactly the recorded time plus whole seconds.
                #expect(prediction.eventTime - expected.ts == Double(shift))
                if pass == 0 { #expect(prediction.eventTime <= start, "pass 0 lies in the past") }
                let gap = prediction.eventTime - previousTime
                #expect(gap <= 60 || gap > max(60, horizon), "a gap of \(gap) s mixes sessions")
                previousTime = prediction.eventTime
                for i in 0..<FeatureVector.count {
                    let a = prediction.features[i]
                    let b = expected.features[i]
                    // 1e-9 relative, or 1e-15 absolute for values that are 0 up to rounding (as the conformance test).
                    if !ReferenceData.close(a, b), featureMismatches.count < 5 {
                        featureMismatches.append("pass \(pass) row \(row - 1) \(FeatureVector.names[i]): \(a) vs \(b)")
                    }
                }
                worstProbability = max(worstProbability, abs(prediction.score.probability - expected.probability))
            }
            #expect(row == reference.count, "pass \(pass): \(row) predictions")
        }
        #expect(featureMismatches.isEmpty, "\(featureMismatches)")
        #expect(worstProbability <= 1e-6, "largest probability difference \(worstProbability)")
    }
}

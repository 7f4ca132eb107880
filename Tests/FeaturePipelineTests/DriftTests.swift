import Foundation
import Testing

import FeaturePipeline

/// Feature and prediction drift (PSI) and the reference file it compares with.
@Suite("Drift and reference profiles")
struct DriftTests {
    struct Scored {
        var features: [FeatureVector] = []
        var probabilities: [Double] = []
        var predictions: [Int] = []
    }

    static func scoredFixture() throws -> Scored {
        let model = try loadProductionModel()
        var scored = Scored()
        for row in try loadReferenceRows() {
            let p = model.probability(row.featureVector)
            scored.features.append(row.featureVector)
            scored.probabilities.append(p)
            scored.predictions.append(p >= 0.5 ? 1 : 0)
        }
        return scored
    }

    /// PSI written out from the issue's definition, independent of ``DriftMonitor``: bins by linear scan.
    static func offlinePSI(_ values: [Double], _ distribution: BinnedDistribution) -> Double {
        let finite = values.filter(\.isFinite)
        var counts = [Double](repeating: 0, count: distribution.edges.count + 1)
        for v in finite {
            var bin = 0
            while bin < distribution.edges.count, v >= distribution.edges[bin] { bin += 1 }
            counts[bin] += 1
        }
        var psi = 0.0
        for j in counts.indices {
            let p = max(counts[j] / Double(finite.count), 1e-4)
            let q = max(distribution.proportions[j], 1e-4)
            psi += (p - q) * log(p / q)
        }
        return psi
    }

    static func reference(_ s: Scored) throws -> ReferenceProfile {
        let profile = try #require(ReferenceProfile.build(
            features: s.features, probabilities: s.probabilities, predictions: s.predictions,
            labelThreshold: 2.8e-5, labelHorizonSeconds: 60))
        try profile.validate()
        return profile
    }

    @Test("the fixture against a reference built from it: PSI < 0.02 for every feature and the probability")
    func selfReference() throws {
        let s = try Self.scoredFixture()
        let reference = try Self.reference(s)
        var monitor = DriftMonitor(reference: reference, windowRecords: 10_000, minRecords: 500)
        for i in s.features.indices {
            monitor.record(features: s.features[i], probability: s.probabilities[i], prediction: s.predictions[i])
            if i < 498 { #expect(monitor.predictionPSI == nil) }
        }
        for d in 0..<DriftMonitor.dimensions {
            let psi = try #require(monitor.psi(dimension: d))
            #expect(psi < 0.02, "dimension \(d): \(psi)")
        }
        #expect(abs(monitor.predictedPositiveRate! - reference.positiveRate) < 1e-12)
    }

    @Test("one feature shifted by 5 standard deviations: its PSI > 0.2, the others unchanged")
    func shiftedFeature() throws {
        let s = try Self.scoredFixture()
        let reference = try Self.reference(s)
        let values = s.features.map(\.bidAskSpread)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        var monitor = DriftMonitor(reference: reference, windowRecords: 10_000, minRecords: 500)
        for i in s.features.indices {
            var shifted = s.features[i]
            shifted.bidAskSpread += 5 * std
            monitor.record(features: shifted, probability: s.probabilities[i], prediction: s.predictions[i])
        }
        #expect(try #require(monitor.featurePSI(2)) > 0.2)
        #expect(try #require(monitor.featurePSI(1)) < 0.02)
    }

    @Test("sliding window: PSI equals an offline computation over the last N records within 1e-9; non-finite values are left out and counted")
    func slidingWindowMatchesOffline() throws {
        let s = try Self.scoredFixture()
        let reference = try Self.reference(s)
        let window = 700
        var monitor = DriftMonitor(reference: reference, windowRecords: window, minRecords: 100)
        var features = s.features
        // Every 50th record has a zero-duration window (trade_intensity = +inf) and a NaN probability.
        var probabilities = s.probabilities
        for i in stride(from: 0, to: features.count, by: 50) {
            features[i].tradeIntensity = .infinity
            probabilities[i] = .nan
        }
        var checked = 0
        for i in features.indices {
            monitor.record(features: features[i], probability: probabilities[i], prediction: s.predictions[i])
            guard i >= 99, i % 97 == 0 || i == features.count - 1 else { continue }
            let start = max(0, i + 1 - window)
            for d in 0..<FeatureVector.count {
                let offline = Self.offlinePSI(features[start...i].map { $0[d] }, reference.features[d])
                #expect(nearlyEqual(try #require(monitor.featurePSI(d)), offline), "record \(i) feature \(d)")
            }
            let offline = Self.offlinePSI(Array(probabilities[start...i]), reference.probability)
            #expect(nearlyEqual(try #require(monitor.predictionPSI), offline))
            let positives = s.predictions[start...i].filter { $0 == 1 }.count
            #expect(monitor.predictedPositiveRate == Double(positives) / Double(i + 1 - start))
            checked += 1
        }
        #expect(checked > 20)
        let nonFinite = (features.count + 49) / 50
        #expect(monitor.nonFiniteTotals == [0, 0, 0, nonFinite, 0, nonFinite])
    }

    @Test("bins: v < b1 is bin 0, b_j ≤ v < b_j+1 is bin j, v ≥ b_k is bin k")
    func bins() {
        let d = BinnedDistribution(edges: [1, 2, 3], proportions: [0.25, 0.25, 0.25, 0.25])
        #expect([0.5, 1, 1.5, 2, 2.999, 3, 100, -.infinity].map(d.bin(of:)) == [0, 1, 1, 2, 2, 3, 3, 0])
    }

    static let valid = #"""
        {"features": {"midprice_return_mean": {"edges": [0], "proportions": [0.5, 0.5]},
                      "midprice_return_std": {"edges": [1e-5, 2e-5], "proportions": [0.2, 0.3, 0.5]},
                      "bid_ask_spread": {"edges": [0.01], "proportions": [0.5, 0.5]},
                      "trade_intensity": {"edges": [0.5], "proportions": [0.5, 0.5]},
                      "order_book_imbalance": {"edges": [1e-7], "proportions": [0.5, 0.5]}},
         "probability": {"edges": [0.5], "proportions": [0.8, 0.2]},
         "positive_rate": 0.2, "label_threshold": 2.8e-5, "label_horizon_seconds": 60}
        """#

    @Test("reference files: the documented shape loads; each broken rule is rejected with the field named")
    func validation() throws {
        let profile = try ReferenceProfile(jsonData: Data(Self.valid.utf8))
        #expect(profile.features[1].edges == [1e-5, 2e-5])
        #expect(profile.labelHorizonSeconds == 60)
        #expect(try ReferenceProfile(jsonData: profile.jsonData()) == profile)
        let broken: [(String, String, String)] = [
            (#""edges": [1e-5, 2e-5]"#, #""edges": [2e-5, 2e-5]"#, "strictly increasing"),
            (#""edges": [1e-5, 2e-5]"#, #""edges": [2e-5, 1e-5]"#, "strictly increasing"),
            (#""edges": [1e-5, 2e-5]"#, #""edges": [1e-5, 1e999]"#, "not a valid reference profile"),
            (#""proportions": [0.2, 0.3, 0.5]"#, #""proportions": [0.5, 0.5]"#, "need edges + 1"),
            (#""proportions": [0.2, 0.3, 0.5]"#, #""proportions": [0.2, 0.3, 0.6]"#, "sum"),
            (#""bid_ask_spread""#, #""spread""#, "unknown feature"),
            (#""positive_rate": 0.2"#, #""positive_rate": 1.5"#, "positive_rate"),
            (#""label_horizon_seconds": 60"#, #""label_horizon_seconds": 0"#, "label_horizon_seconds"),
            (#""label_threshold": 2.8e-5,"#, "", "label_threshold"),
        ]
        for (from, to, message) in broken {
            let text = Self.valid.replacingOccurrences(of: from, with: to)
            #expect(text != Self.valid)
            do {
                _ = try ReferenceProfile(jsonData: Data(text.utf8))
                Issue.record("accepted: \(to)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
        #expect(ReferenceProfile.path(forModel: "x/m.json") == "x/m.reference.json")
        #expect(ReferenceProfile.path(forModel: "x/m") == "x/m.reference.json")
    }

    @Test("the shipped reference of the bundled model loads and is close to the bundled ticks")
    func shippedReference() throws {
        let path = TestPaths.modelFile.path
        let reference = try #require(try ReferenceProfile.load(besideModel: path))
        let s = try Self.scoredFixture()
        for d in 0..<FeatureVector.count {
            #expect(try #require(DriftMonitor.psi(of: s.features.map { $0[d] }, against: reference.features[d])) < 0.02)
        }
        #expect(abs(reference.positiveRate - Double(s.predictions.filter { $0 == 1 }.count) / Double(s.predictions.count)) < 1e-9)
    }
}

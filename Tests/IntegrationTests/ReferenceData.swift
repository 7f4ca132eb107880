import FeaturePipeline
import Foundation

/// The fixture ticks and what the original pipeline computed from them.
struct ReferenceRow {
    var ts: Double
    var price: Double
    var windowSize: Int
    var features: [Double]  // model order
    var probability: Double
}

enum ReferenceData {
    static var tickFile: URL { TestPaths.fixtures.appendingPathComponent("coinbase-btc-usd-ticker.ndjson") }

    static func tickLines() throws -> [[UInt8]] {
        let data = try Data(contentsOf: tickFile)
        return data.split(separator: 0x0A).filter { !$0.isEmpty }.map { Array($0) }
    }

    static func rows() throws -> [ReferenceRow] {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("features-reference.csv"), encoding: .utf8)
        var rows: [ReferenceRow] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 11, let ts = Double(fields[0]), let price = Double(fields[2]),
                let size = Int(fields[3]), let probability = Double(fields[10])
            else { throw TestFailure("bad reference line: \(line)") }
            let features = [5, 6, 7, 8, 9].compactMap { Double(fields[$0]) }
            rows.append(ReferenceRow(ts: ts, price: price, windowSize: size, features: features, probability: probability))
        }
        return rows
    }

    /// Replays the fixture through the same FeaturePipeline: the outcome of each input offset of an
    /// uninterrupted run (the lines are produced in order to one partition, so line i is offset i).
    static func expectedOutcomes() throws -> [RecordOutcome] {
        let model = try LoadedModel.load(
            variant: .ml,
            modelPath: TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            baselinePath: TestPaths.repositoryRoot.appendingPathComponent("config/models/baseline.json").path
        )
        var pipeline = RecordPipeline(model: model)
        return try tickLines().map { line in
            line.withUnsafeBytes { bytes in
                pipeline.process(value: bytes, key: nil, kafkaTimestamp: nil, now: Date().timeIntervalSince1970, timings: nil)
            }
        }
    }

    static func close(_ actual: Double, _ expected: Double, relative: Double = 1e-9, absolute: Double = 1e-15) -> Bool {
        abs(actual - expected) <= max(absolute, relative * abs(expected))
    }
}

/// A prediction record as the daemon publishes it.
struct PublishedPrediction: Decodable {
    struct Source: Decodable {
        var topic: String
        var partition: Int32
        var offset: Int64
    }
    var product_id: String
    var event_time: Double
    var timestamp: Double
    var price: Double
    var midprice: Double
    var prediction: Int
    var probability: Double
    var threshold: Double
    var model_variant: String
    var model_version: String
    var fallback_reason: String?
    var shadow: Bool?
    var features: [String: Double?]
    var source: Source

    func feature(_ name: String) -> Double? { features[name] ?? nil }
}

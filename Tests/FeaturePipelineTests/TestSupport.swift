import Foundation

import FeaturePipeline

/// Locations of the shared test fixtures and models, found relative to this file so the tests run both
/// from the main package and from a package that symlinks this directory.
enum TestPaths {
    /// The `Tests` directory (parent of this target's directory), resolved through symlinks when needed.
    static let testsDirectory: URL = {
        let file = URL(fileURLWithPath: #filePath)
        for candidate in [file.resolvingSymlinksInPath(), file] {
            let tests = candidate.deletingLastPathComponent().deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: tests.appendingPathComponent("Fixtures").path) {
                return tests
            }
        }
        return file.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
    }()

    static var fixtures: URL { self.testsDirectory.appendingPathComponent("Fixtures") }
    static var repositoryRoot: URL { self.testsDirectory.deletingLastPathComponent() }
    static var tickerFile: URL { self.fixtures.appendingPathComponent("coinbase-btc-usd-ticker.ndjson") }
    static var referenceFile: URL { self.fixtures.appendingPathComponent("features-reference.csv") }
    static var modelFile: URL { self.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json") }
    static var baselineFile: URL { self.repositoryRoot.appendingPathComponent("config/models/baseline.json") }
}

/// Non-empty lines of a text file as byte arrays.
func fixtureLines(_ url: URL) throws -> [[UInt8]] {
    let data = try Data(contentsOf: url)
    return data.split(separator: UInt8(ascii: "\n")).map { Array($0) }.filter { !$0.isEmpty }
}

/// A fixed "now" (2026-01-01) well after the fixture data.
let testNow: Double = 1_767_225_600

/// Decodes `text` with the given key and Kafka timestamp.
func decode(
    _ text: String,
    key: String? = nil,
    kafkaTimestamp: Double? = nil,
    now: Double = testNow,
    decoder: RecordDecoder = RecordDecoder()
) throws(RecordError) -> DecodedRecord {
    try decode(bytes: Array(text.utf8), key: key, kafkaTimestamp: kafkaTimestamp, now: now, decoder: decoder)
}

func decode(
    bytes: [UInt8],
    key: String? = nil,
    kafkaTimestamp: Double? = nil,
    now: Double = testNow,
    decoder: RecordDecoder = RecordDecoder()
) throws(RecordError) -> DecodedRecord {
    let keyBytes = key.map { Array($0.utf8) }
    let result: Result<DecodedRecord, RecordError> = bytes.withUnsafeBytes { value in
        if let keyBytes {
            return keyBytes.withUnsafeBytes { k in
                Result { () throws(RecordError) in
                    try decoder.decode(value, key: k, kafkaTimestamp: kafkaTimestamp, now: now)
                }
            }
        }
        return Result { () throws(RecordError) in
            try decoder.decode(value, key: nil, kafkaTimestamp: kafkaTimestamp, now: now)
        }
    }
    return try result.get()
}

/// The tick of a record that must decode to one.
func decodeTick(_ text: String, key: String? = nil, kafkaTimestamp: Double? = nil) throws -> Tick {
    guard case .tick(let tick) = try decode(text, key: key, kafkaTimestamp: kafkaTimestamp) else {
        throw TestFailure("expected a tick for \(text)")
    }
    return tick
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Equal within 1e-9 relative or 1e-15 absolute (or both infinite with the same sign).
func nearlyEqual(_ a: Double, _ b: Double, relative: Double = 1e-9, absolute: Double = 1e-15) -> Bool {
    if a == b { return true }
    let difference = abs(a - b)
    return difference <= absolute || difference <= relative * max(abs(a), abs(b))
}

/// One row of features-reference.csv.
struct ReferenceRow {
    var ts: Double
    var pair: String
    var rawPrice: Double
    var windowSize: Int
    var windowDuration: Double
    var features: [Double]  // five, model order
    var xgbProbability: Double

    var featureVector: FeatureVector {
        FeatureVector(
            midpriceReturnMean: self.features[0], midpriceReturnStd: self.features[1],
            bidAskSpread: self.features[2], tradeIntensity: self.features[3],
            orderBookImbalance: self.features[4], windowSize: self.windowSize,
            windowDuration: self.windowDuration)
    }
}

func loadReferenceRows() throws -> [ReferenceRow] {
    let text = try String(contentsOf: TestPaths.referenceFile, encoding: .utf8)
    var lines = text.split(separator: "\n")
    let header = lines.removeFirst()
    guard header.hasPrefix("ts,pair,raw_price,window_size,window_duration") else {
        throw TestFailure("unexpected header \(header)")
    }
    return try lines.map { line in
        let c = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard c.count == 11, let ts = Double(c[0]), let price = Double(c[2]), let size = Int(c[3]),
            let duration = Double(c[4]), let p = Double(c[10])
        else { throw TestFailure("bad reference row \(line)") }
        let features = try c[5...9].map { text -> Double in
            guard let value = Double(text) else { throw TestFailure("bad number \(text)") }
            return value
        }
        return ReferenceRow(
            ts: ts, pair: c[1], rawPrice: price, windowSize: size, windowDuration: duration,
            features: features, xgbProbability: p)
    }
}

func loadProductionModel() throws -> XGBoostModel {
    try XGBoostModel(jsonData: Data(contentsOf: TestPaths.modelFile))
}

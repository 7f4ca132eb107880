import Foundation
import Testing

import FeaturePipeline

/// One entry of `Tests/Fixtures/hostile/manifest.json`.
struct HostileCase: Sendable, CustomTestStringConvertible {
    var file: String
    var outcome: String
    var recordClass: String
    var key: [UInt8]?
    var kafkaTimestamp: Double?
    var maxRecordBytes: Int?

    var testDescription: String { "\(self.file) → \(self.outcome)" }
}

/// The hostile-input corpus and its expected outcomes.
enum HostileCorpus {
    static var directory: URL { TestPaths.fixtures.appendingPathComponent("hostile") }

    /// Outcome labels a manifest may use.
    static let outcomes: Set<String> = [
        "parse_error", "schema_error", "invalid_value", "oversize", "no_price", "prediction",
    ]

    static func load() throws -> (now: Double, cases: [HostileCase]) {
        let data = try Data(contentsOf: self.directory.appendingPathComponent("manifest.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let now = root["now"] as? Double, let entries = root["cases"] as? [[String: Any]]
        else { throw TestFailure("manifest.json: expected an object with 'now' and 'cases'") }
        let cases = try entries.map { entry -> HostileCase in
            guard let file = entry["file"] as? String, let outcome = entry["outcome"] as? String,
                let recordClass = entry["class"] as? String
            else { throw TestFailure("manifest entry without file/outcome/class: \(entry)") }
            var key: [UInt8]? = (entry["key"] as? String).map { Array($0.utf8) }
            if let hex = entry["key_hex"] as? String {
                key = try hex.split(separator: " ").map { pair in
                    guard let byte = UInt8(pair, radix: 16) else { throw TestFailure("bad key_hex \(hex)") }
                    return byte
                }
            }
            return HostileCase(
                file: file, outcome: outcome, recordClass: recordClass, key: key,
                kafkaTimestamp: entry["kafka_timestamp"] as? Double, maxRecordBytes: entry["max_record_bytes"] as? Int)
        }
        return (now, cases)
    }

    /// The cases, or none when the manifest cannot be read (``HostileCorpusTests/manifestIsComplete`` fails then).
    static let cases: [HostileCase] = (try? load().cases) ?? []
}

/// A pipeline scoring with a fixed baseline (the model does not matter for classification).
func hostilePipeline(maxRecordBytes: Int = 900_000) -> RecordPipeline {
    let model = LoadedModel(
        variant: .baseline, xgboost: nil,
        baseline: try? BaselineModel(mean: 0, std: 1, threshold: 2), version: "v", path: "p")
    return RecordPipeline(model: model, maxRecordBytes: maxRecordBytes)
}

/// The outcome label of a pipeline result (`warming_up` for the skip before a window has two ticks).
func outcomeLabel(_ outcome: RecordOutcome) -> String {
    switch outcome {
    case .prediction: return "prediction"
    case .skipped(let reason): return reason.rawValue
    case .deadLetter(let error): return error.type.rawValue
    }
}

func process(
    _ pipeline: inout RecordPipeline, _ bytes: [UInt8], key: [UInt8]? = nil, kafkaTimestamp: Double? = nil,
    now: Double = testNow
) -> RecordOutcome {
    bytes.withUnsafeBytes { value in
        guard let key else {
            return pipeline.process(value: value, key: nil, kafkaTimestamp: kafkaTimestamp, now: now, timings: nil)
        }
        return key.withUnsafeBytes { k in
            pipeline.process(value: value, key: k, kafkaTimestamp: kafkaTimestamp, now: now, timings: nil)
        }
    }
}

@Suite("Hostile input corpus")
struct HostileCorpusTests {
    @Test("the manifest lists every file, ≥ 25 classes, every outcome, only known labels")
    func manifestIsComplete() throws {
        let (now, cases) = try HostileCorpus.load()
        #expect(now == testNow)
        #expect(cases.count >= 25)
        #expect(Set(cases.map(\.recordClass)).count == cases.count, "classes must be distinct")
        let files = try FileManager.default.contentsOfDirectory(atPath: HostileCorpus.directory.path)
            .filter { $0 != "manifest.json" && $0 != "README.md" }
        #expect(Set(files) == Set(cases.map(\.file)))
        #expect(Set(cases.map(\.outcome)) == HostileCorpus.outcomes)
        #expect(cases.count == HostileCorpus.cases.count)
    }

    /// Dead letters and skips must be the same both times; a valid tick is `warming_up`, then `prediction`.
    @Test("each record ends as the manifest says", arguments: HostileCorpus.cases)
    func classify(_ entry: HostileCase) throws {
        let bytes = Array(try Data(contentsOf: HostileCorpus.directory.appendingPathComponent(entry.file)))
        var pipeline = hostilePipeline(maxRecordBytes: entry.maxRecordBytes ?? 900_000)
        let first = process(&pipeline, bytes, key: entry.key, kafkaTimestamp: entry.kafkaTimestamp)
        let second = process(&pipeline, bytes, key: entry.key, kafkaTimestamp: entry.kafkaTimestamp)
        if entry.outcome == "prediction" {
            #expect(outcomeLabel(first) == "warming_up", "\(entry.recordClass): \(first)")
            #expect(outcomeLabel(second) == "prediction", "\(entry.recordClass): \(second)")
        } else {
            #expect(outcomeLabel(first) == entry.outcome, "\(entry.recordClass): \(first)")
            #expect(second == first)
        }
        if case .deadLetter(let error) = first {
            #expect(!error.reason.isEmpty)
        }
    }
}

/// Multi-megabyte records are generated, not committed.
@Suite("Hostile input: 10 MB records")
struct HugeRecordTests {
    static let tenMB = 10 * 1024 * 1024

    /// A valid featurizer record padded to exactly `size` bytes with an ignored string member.
    static func paddedTick(size: Int) -> [UInt8] {
        let head = Array(#"{"timestamp": 1762932013.54, "product_id": "BTC-USD", "price": 1, "pad": ""#.utf8)
        let tail = Array(#""}"#.utf8)
        return head + [UInt8](repeating: UInt8(ascii: "x"), count: size - head.count - tail.count) + tail
    }

    @Test("a 10 MB record is oversize at the default limit, with its size in the reason")
    func oversizeAtDefaultLimit() {
        var pipeline = hostilePipeline()
        let outcome = process(&pipeline, Self.paddedTick(size: Self.tenMB))
        #expect(
            outcome == .deadLetter(RecordError(type: .oversize, reason: "record is 10485760 bytes, limit 900000")))
    }

    @Test("a valid 10 MB record is parsed when the limit allows it")
    func parsedWhenAllowed() {
        var pipeline = hostilePipeline(maxRecordBytes: 16 << 20)
        let record = Self.paddedTick(size: Self.tenMB)
        #expect(process(&pipeline, record) == .skipped(.warmingUp))
        #expect(outcomeLabel(process(&pipeline, record)) == "prediction")
    }

    @Test("10 MB of '[' is a parse_error, not a stack overflow")
    func tenMegabytesOfBrackets() {
        var pipeline = hostilePipeline(maxRecordBytes: 16 << 20)
        let outcome = process(&pipeline, [UInt8](repeating: UInt8(ascii: "["), count: Self.tenMB))
        #expect(outcomeLabel(outcome) == "parse_error")
    }

    @Test("a 10 MB escaped raw string in an envelope is unescaped and decoded")
    func tenMegabyteEnvelope() {
        var pipeline = hostilePipeline(maxRecordBytes: 16 << 20)
        let head = Array(#"{"ts": 1762932011.62, "pair": "BTC-USD", "raw": "{\"type\":\"ticker\",\"price\":\"1\",\"pad\":\""#.utf8)
        let tail = Array(#"\"}"}"#.utf8)
        let pad = [UInt8](repeating: UInt8(ascii: "y"), count: Self.tenMB - head.count - tail.count)
        let record = head + pad + tail
        #expect(process(&pipeline, record) == .skipped(.warmingUp))
        #expect(outcomeLabel(process(&pipeline, record)) == "prediction")
    }

    @Test("a 10 MB number is an invalid_value (overflow), a 10 MB digit string price too")
    func tenMegabyteNumbers() {
        var pipeline = hostilePipeline(maxRecordBytes: 16 << 20)
        let digits = [UInt8](repeating: UInt8(ascii: "7"), count: Self.tenMB)
        let number = Array(#"{"timestamp": 1762932013.54, "product_id": "A", "price": "#.utf8) + digits + Array("}".utf8)
        #expect(outcomeLabel(process(&pipeline, number)) == "invalid_value")
        let string = Array(#"{"timestamp": 1762932013.54, "product_id": "A", "price": ""#.utf8) + digits + Array(#""}"#.utf8)
        #expect(outcomeLabel(process(&pipeline, string)) == "invalid_value")
    }

    @Test("10 MB of whitespace around a valid record is still one record")
    func tenMegabytesOfWhitespace() {
        var pipeline = hostilePipeline(maxRecordBytes: 16 << 20)
        let body = Array(#"{"timestamp": 1762932013.54, "product_id": "A", "price": 1}"#.utf8)
        let space = [UInt8](repeating: UInt8(ascii: " "), count: Self.tenMB / 2)
        let record = space + body + space
        #expect(process(&pipeline, record) == .skipped(.warmingUp))
        #expect(outcomeLabel(process(&pipeline, record)) == "prediction")
    }
}

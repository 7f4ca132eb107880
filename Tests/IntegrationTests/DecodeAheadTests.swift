import ConsumerMetrics
import FeaturePipeline
import Foundation
import StreamConsumer
import Testing

@testable import consumerd

/// `PROCESSING_THREADS=2`: records decoded ahead (``PredictionHandler/prepare(_:in:)``, on the processing thread)
/// and then handled from their slots give exactly what handling each record in one step gives — the same
/// dispositions, output bytes (but the processing timestamp), shadow and outcome outputs, and the same drift,
/// realised-label and record metrics, bad records included.
@Suite("Prediction handler, decoding ahead")
struct DecodeAheadTests {
    static let partitions: Int32 = 8
    static let shadowTopic = ExtraTopic(0)
    static let outcomesTopic = ExtraTopic(1)

    /// The fixture ticks spread over `partitions` partitions (line i → partition i mod 8), plus a few bad records,
    /// each copied into memory of its own that stays valid for the whole test.
    final class Records {
        let records: [ConsumedRecord]
        private let buffers: [UnsafeMutableRawBufferPointer]

        init() throws {
            var lines = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent("Tests/Fixtures/coinbase-btc-usd-ticker.ndjson"), encoding: .utf8)
                .split(separator: "\n").map(String.init)
            for i in stride(from: 100, to: lines.count, by: 500) { lines.insert(#"{"not a tick"#, at: i) }
            var buffers: [UnsafeMutableRawBufferPointer] = []
            var records: [ConsumedRecord] = []
            for (i, line) in lines.enumerated() {
                let bytes = Array(line.utf8)
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
                buffer.copyBytes(from: bytes)
                buffers.append(buffer)
                records.append(ConsumedRecord(
                    topic: "ticks.features", partition: Int32(i) % DecodeAheadTests.partitions, offset: Int64(i),
                    key: nil, value: UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count]), timestamp: nil))
            }
            self.records = records
            self.buffers = buffers
        }

        deinit { for buffer in buffers { buffer.deallocate() } }
    }

    /// What one record became, with the processing timestamp taken out of the output.
    struct Decided: Equatable {
        var disposition: String
        var output: String
        var extras: [String]
    }

    static func makeHandler() throws -> (PredictionHandler, ConsumerMetrics) {
        let root = TestPaths.repositoryRoot.appendingPathComponent("config/models")
        let ml = try LoadedModel.load(variant: .ml, modelPath: root.appendingPathComponent("xgb-volatility-5feat.json").path, baselinePath: "")
        let baseline = try LoadedModel.load(variant: .baseline, modelPath: "", baselinePath: root.appendingPathComponent("baseline.json").path)
        let quality = try QualityConfiguration.fromEnvironment(EnvironmentReader(["DRIFT_MIN_RECORDS": "100", "DRIFT_WINDOW_RECORDS": "1000"]))
            .resolve(for: ml)
        let metrics = ConsumerMetrics(variant: "ml", modelVersion: ml.version, modelPath: ml.path, buildVersion: "test")
        let handler = PredictionHandler(
            pipeline: RecordPipeline(model: ml, labelSettings: quality.labelSettings),
            models: ModelSet(active: ml, shadow: baseline), metrics: metrics, shadowTopic: shadowTopic,
            quality: quality, outcomesTopic: outcomesTopic)
        return (handler, metrics)
    }

    static func describe(_ disposition: RecordDisposition) -> String {
        switch disposition {
        case .skip: "skip"
        case .publish(let key, let kind): "publish \(key) \(kind)"
        case .deadLetter(let letter): "dead letter \(letter.errorType)"
        }
    }

    static func withoutTimestamp(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).replacingOccurrences(
            of: #""timestamp":[0-9.e+-]+"#, with: "", options: .regularExpression)
    }

    static func decided(_ disposition: RecordDisposition, _ output: [UInt8], _ extras: ExtraOutputs) -> Decided {
        var rendered: [String] = []
        for index in 0..<extras.count {
            extras.withOutput(at: index) { topic, key, value in
                rendered.append("\(topic.index) \(String(decoding: key, as: UTF8.self)) \(withoutTimestamp(Array(value)))")
            }
        }
        let publishes = if case .publish = disposition { true } else { false }
        return Decided(disposition: describe(disposition), output: publishes ? withoutTimestamp(output) : "", extras: rendered)
    }

    /// The model-quality series and the record counters, as `/metrics` renders them: series → value.
    static func qualitySeries(_ metrics: ConsumerMetrics) -> [String: Double] {
        var series: [String: Double] = [:]
        for line in metrics.renderString().split(separator: "\n") where !line.hasPrefix("#") {
            guard line.contains("psi") || line.contains("realised") || line.contains("positive_rate")
                || line.hasPrefix("volatility_consumer_messages_processed_total") || line.contains("errors_total")
                || line.contains("shadow_comparisons_total"),
                let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
            else { continue }
            series[String(line[..<space])] = value
        }
        return series
    }

    /// Equal series (the decode-stage histogram aside: its samples are taken on another counter).
    static func sameSeries(_ a: [String: Double], _ b: [String: Double]) -> [String] {
        var differing: [String] = []
        for key in Set(a.keys).union(b.keys) {
            guard let x = a[key], let y = b[key] else {
                differing.append("\(key) missing")
                continue
            }
            if x != y { differing.append("\(key): \(x) vs \(y)") }
        }
        return differing.sorted()
    }

    @Test("records decoded ahead into slots are handled exactly as records handled in one step")
    func decodedAheadMatchesOneStep() throws {
        let input = try Records()
        let (single, singleMetrics) = try Self.makeHandler()
        var expected: [Decided] = []
        var output: [UInt8] = []
        var extras = ExtraOutputs()
        for record in input.records {
            extras.removeAll()
            let disposition = single.handle(record, output: &output, extras: &extras)
            expected.append(Self.decided(disposition, output, extras))
        }

        let (ahead, aheadMetrics) = try Self.makeHandler()
        #expect(ahead.preparesRecords)
        var actual: [Decided] = []
        var start = 0
        var round = 0
        // As the driver does: a batch's records are prepared into its slots, then handled; uneven batch sizes,
        // and the three batch buffers in turn.
        let sizes = [7, 512, 63, 1, 300]
        while start < input.records.count {
            let end = min(start + sizes[round % sizes.count], input.records.count)
            let batch = round % PreparedSlot.batches
            round += 1
            for (index, record) in input.records[start..<end].enumerated() {
                ahead.prepare(record, in: PreparedSlot(batch: batch, index: index))
            }
            for (index, record) in input.records[start..<end].enumerated() {
                extras.removeAll()
                let disposition = ahead.handle(record, prepared: PreparedSlot(batch: batch, index: index), output: &output, extras: &extras)
                actual.append(Self.decided(disposition, output, extras))
            }
            start = end
        }

        #expect(actual.count == expected.count)
        let differing = zip(actual, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(differing.isEmpty, "\(differing.count) records differ; first: \(differing.first.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")")
        #expect(expected.contains { $0.disposition.hasPrefix("publish") } && expected.contains { $0.disposition.hasPrefix("dead letter") })
        #expect(expected.contains { $0.extras.contains { $0.hasPrefix("1 ") } }, "no realised outcome was published")
        let aheadSeries = Self.qualitySeries(aheadMetrics)
        #expect(aheadSeries["volatility_consumer_messages_processed_total"] == Double(input.records.count))
        #expect((aheadSeries["volatility_consumer_prediction_psi"] ?? .nan).isFinite, "drift was exported")
        #expect(Self.sameSeries(aheadSeries, Self.qualitySeries(singleMetrics)) == [])
    }
}

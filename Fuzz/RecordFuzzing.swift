#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Oracles for the record path: no crash or hang, one well-formed outcome per record, determinism (the same
/// bytes processed twice end the same way, a warming-up tick becomes a prediction), state bounds, and
/// predictions that survive encode → decode with product id, price and time intact.
enum RecordFuzzing {
    static let now: Double = 1_767_225_600  // 2026-01-01
    static let maxKeys = 3

    static let model: LoadedModel = {
        // One stump per feature, so every feature is read by the scorer.
        var text = #"{"learner":{"objective":{"name":"binary:logistic"},"learner_model_param":{"base_score":"5E-1"},"#
        text += #""gradient_booster":{"name":"gbtree","model":{"trees":["#
        text += (0..<5).map { f in
            #"{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[\#(f),0,0],"#
                + #""split_conditions":[0.001,-0.5,0.5],"default_left":[1,0,0]}"#
        }.joined(separator: ",")
        text += "]}}}}"
        do {
            let xgboost = try XGBoostModel(jsonData: Data(text.utf8))
            return LoadedModel(variant: .ml, xgboost: xgboost, baseline: nil, version: "fuzz", path: "fuzz")
        } catch {
            fuzzFailure("fuzz model does not load: \(error)")
        }
    }()

    static let encoder = PredictionEncoder(modelVariant: .ml, modelVersion: "fuzz", threshold: 0.5)
    static let key: [UInt8] = Array("KEY-USD".utf8)

    static func run(_ input: UnsafeRawBufferPointer) {
        // Input length picks the optional key and Kafka timestamp, so both fallbacks are exercised.
        let useKey = input.count & 1 == 1
        let kafkaTimestamp: Double? = input.count & 2 == 2 ? 1_762_932_013.25 : nil
        var pipeline = RecordPipeline(model: self.model, maxRecordBytes: 1 << 20, maxKeys: self.maxKeys, idleSeconds: 60)

        let first = self.process(&pipeline, input, useKey: useKey, kafkaTimestamp: kafkaTimestamp)
        let second = self.process(&pipeline, input, useKey: useKey, kafkaTimestamp: kafkaTimestamp)
        switch (first, second) {
        case (.skipped(.warmingUp), .prediction), (.prediction, .prediction):
            break
        case (.deadLetter(let a), .deadLetter(let b)) where a == b:
            break
        case (.skipped(.noPrice), .skipped(.noPrice)):
            break
        default:
            fuzzFailure("same record, different outcomes: \(first) then \(second)")
        }

        // Each line as its own record through one pipeline: multi-product state under a tiny key cap.
        let bytes = input.bindMemory(to: UInt8.self)
        guard bytes.contains(UInt8(ascii: "\n")) else { return }
        var start = 0
        for i in 0...input.count where i == input.count || bytes[i] == UInt8(ascii: "\n") {
            if i > start {
                let line = UnsafeRawBufferPointer(rebasing: input[start..<i])
                _ = self.process(&pipeline, line, useKey: useKey, kafkaTimestamp: kafkaTimestamp)
            }
            start = i + 1
        }
        if pipeline.windows.productCount > self.maxKeys {
            fuzzFailure("productCount \(pipeline.windows.productCount) above maxKeys \(self.maxKeys)")
        }
    }

    static func process(
        _ pipeline: inout RecordPipeline, _ value: UnsafeRawBufferPointer, useKey: Bool, kafkaTimestamp: Double?
    ) -> RecordOutcome {
        let outcome: RecordOutcome
        if useKey {
            outcome = self.key.withUnsafeBytes { key in
                pipeline.process(value: value, key: key, kafkaTimestamp: kafkaTimestamp, now: self.now, timings: nil)
            }
        } else {
            outcome = pipeline.process(value: value, key: nil, kafkaTimestamp: kafkaTimestamp, now: self.now, timings: nil)
        }
        switch outcome {
        case .deadLetter(let error):
            if error.reason.isEmpty { fuzzFailure("dead letter without a reason: \(error.type)") }
        case .skipped:
            break
        case .prediction(let prediction):
            self.check(prediction)
        }
        return outcome
    }

    static func check(_ p: Prediction) {
        guard p.price.isFinite, p.price > 0, p.midprice.isFinite, p.midprice > 0 else {
            fuzzFailure("prediction with unusable prices \(p.price) / \(p.midprice)")
        }
        guard p.eventTime >= RecordDecoder.minimumEventTime, p.eventTime <= self.now + RecordDecoder.maximumClockSkew else {
            fuzzFailure("prediction with event time \(p.eventTime) out of range")
        }
        guard p.features.windowSize >= 2, !p.productId.isEmpty, p.productId.utf8.count <= 256 else {
            fuzzFailure("prediction with window \(p.features.windowSize), product id '\(p.productId)'")
        }
        guard p.score.probability.isNaN || (0...1).contains(p.score.probability) else {
            fuzzFailure("probability \(p.score.probability) outside [0, 1]")
        }
        // The published JSON must decode back to the same product, price and time.
        var buffer: [UInt8] = []
        self.encoder.encode(
            p, processingTime: p.eventTime, source: RecordSource(topic: "t\"\\\u{1}", partition: 0, offset: 1),
            into: &buffer)
        let decoded: DecodedRecord
        do {
            decoded = try buffer.withUnsafeBytes { (out) throws(RecordError) -> DecodedRecord in
                try RecordDecoder().decode(out, key: nil, kafkaTimestamp: nil, now: self.now)
            }
        } catch {
            fuzzFailure("encoded prediction does not decode: \(error) — \(String(decoding: buffer, as: UTF8.self))")
        }
        guard case .tick(let tick) = decoded, tick.productId == p.productId, tick.price == p.price,
            tick.eventTime == p.eventTime
        else {
            fuzzFailure("encode/decode round trip changed the prediction: \(decoded) vs \(p)")
        }
    }
}

import FeaturePipeline
import Foundation
import StreamConsumer

/// Compares the output topics with an exact replay of the input topic through the same ``RecordPipeline``.
///
/// The replay runs partition by partition in offset order with one pipeline per partition, as the daemon keeps
/// them (products are keyed, so a product's ticks live in one partition).
struct Auditor {
    var model: LoadedModel
    var maxRecordBytes: Int
    /// The daemon's STATE_MAX_KEYS / STATE_IDLE_SECONDS: evictions change outcomes (a `warming_up` skip), so the
    /// replay must use the same bounds.
    var maxKeys = FeatureWindows.defaultMaxKeys
    var idleSeconds = FeatureWindows.defaultIdleSeconds
    var relativeTolerance = 1e-9

    func audit(inputs: [ReadRecord], outputs: [ReadRecord], deadLetters: [ReadRecord], inputTopic: String) -> AuditReport {
        var report = AuditReport()
        report.inputs = inputs.count
        report.deadLetterRecords = deadLetters.count

        struct Key: Hashable { var partition: Int32; var offset: Int64 }
        var published: [Key: [[String: Any]]] = [:]
        for record in outputs {
            guard let object = try? JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any],
                let source = object["source"] as? [String: Any],
                let partition = (source["partition"] as? NSNumber)?.int32Value,
                let offset = (source["offset"] as? NSNumber)?.int64Value
            else {
                report.mismatched.add(record.partition, record.offset)
                continue
            }
            published[Key(partition: partition, offset: offset), default: []].append(object)
            report.outputs += 1
        }
        var deadLettered: [Key: [String]] = [:]
        for record in deadLetters {
            guard let partition = record.headers["source_partition"].flatMap({ Int32($0) }),
                let offset = record.headers["source_offset"].flatMap({ Int64($0) })
            else { continue }
            deadLettered[Key(partition: partition, offset: offset), default: []].append(record.headers["error_type"] ?? "")
        }

        var firstOffsets: [Int32: Int64] = [:]
        for input in inputs { firstOffsets[input.partition] = min(firstOffsets[input.partition] ?? .max, input.offset) }
        report.truncatedPartitions = firstOffsets.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) from \($0.value)" }
        // One pipeline per partition, as the daemon keeps them.
        let template = RecordPipeline(model: model, maxRecordBytes: maxRecordBytes, maxKeys: maxKeys, idleSeconds: idleSeconds)
        var pipelines: [Int32: RecordPipeline] = [:]
        let now = Date().timeIntervalSince1970
        var seen = Set<Key>()
        let ordered = inputs.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        for input in ordered {
            let key = Key(partition: input.partition, offset: input.offset)
            seen.insert(key)
            let outcome = input.value.withUnsafeBytes { value in
                withKeyBytes(input.key) { keyBytes in
                    pipelines[input.partition, default: template].process(
                        value: value, key: keyBytes,
                        kafkaTimestamp: input.timestampMs >= 0 ? Double(input.timestampMs) / 1000 : nil,
                        now: now, timings: nil
                    )
                }
            }
            let outputsHere = published[key] ?? []
            let deadLettersHere = deadLettered[key] ?? []
            switch outcome {
            case .prediction(let expected):
                report.expectedPredictions += 1
                if outputsHere.isEmpty { report.lost.add(key.partition, key.offset) }
                if outputsHere.count > 1 { report.duplicated.add(key.partition, key.offset) }
                if !deadLettersHere.isEmpty || outputsHere.contains(where: { !matches($0, expected) }) {
                    report.mismatched.add(key.partition, key.offset)
                }
            case .deadLetter(let error):
                report.expectedDeadLetters += 1
                if deadLettersHere.isEmpty { report.lost.add(key.partition, key.offset) }
                if deadLettersHere.count > 1 { report.duplicated.add(key.partition, key.offset) }
                if !outputsHere.isEmpty || deadLettersHere.contains(where: { $0 != error.type.rawValue }) {
                    report.mismatched.add(key.partition, key.offset)
                }
            case .skipped:
                report.expectedSkips += 1
                if !outputsHere.isEmpty || !deadLettersHere.isEmpty { report.unexpected.add(key.partition, key.offset) }
            }
        }
        for key in Set(published.keys).union(deadLettered.keys).subtracting(seen).sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            report.orphaned.add(key.partition, key.offset)
        }
        report.passed = report.ok
        return report
    }

    private func matches(_ object: [String: Any], _ expected: Prediction) -> Bool {
        guard let probability = (object["probability"] as? NSNumber)?.doubleValue,
            let label = (object["prediction"] as? NSNumber)?.intValue,
            let variant = object["model_variant"] as? String,
            let features = object["features"] as? [String: Any],
            object["product_id"] as? String == expected.productId
        else { return false }
        guard variant == model.variant.rawValue, label == expected.score.prediction,
            close(probability, expected.score.probability)
        else { return false }
        for (index, name) in FeatureVector.names.enumerated() {
            let value = (features[name] as? NSNumber)?.doubleValue ?? .infinity  // null is written for non-finite values
            let wanted = expected.features[index]
            if wanted.isFinite ? !close(value, wanted) : value.isFinite { return false }
        }
        return true
    }

    private func close(_ actual: Double, _ expected: Double) -> Bool {
        abs(actual - expected) <= max(1e-15, relativeTolerance * abs(expected))
    }

    private func withKeyBytes<Result>(_ key: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        guard let key else { return body(nil) }
        return key.withUnsafeBytes { body($0) }
    }
}

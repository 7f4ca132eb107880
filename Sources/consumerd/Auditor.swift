import FeaturePipeline
import Foundation
import StreamConsumer

/// Compares the output topics with an exact replay of the input topic through the same ``RecordPipeline``.
///
/// Bounded memory: nothing is held per record. (1) The output and dead-letter topics are streamed once and each
/// output is written, as a 64-byte ``OutputCopy``, into the slot of the input offset it names in an
/// ``OutputIndex`` scratch file (one slot per input offset, addressed by offset). (2) The input topic is then
/// replayed partition by partition in offset order, with one pipeline per partition as the daemon keeps them
/// (products are keyed, so a product's ticks live in one partition), reading the slots in the same order — a
/// merge join without a sort. What stays in memory: the pipelines' state (bounded by STATE_MAX_KEYS), the model
/// names seen (bounded by ``ModelNames/limit``), per (output partition, input partition) the first source offset
/// (``RetentionEvidence``) and the report's first-ten lists.
///
/// Each prediction is checked against the model its `model_variant`/`model_version` names (``AuditModels``):
/// the replayed features do not depend on the model, only the score does, so outputs across model switches are
/// each checked exactly. An output naming a model the audit was not given is counted as `unknownModel`.
struct Auditor {
    var models: AuditModels
    var maxRecordBytes: Int
    /// The daemon's STATE_MAX_KEYS / STATE_IDLE_SECONDS: evictions change outcomes (a `warming_up` skip), so the
    /// replay must use the same bounds.
    var maxKeys = FeatureWindows.defaultMaxKeys
    var idleSeconds = FeatureWindows.defaultIdleSeconds
    var relativeTolerance = 1e-9
    /// The producer's partitioner (where a keyed output was written); `nil`: unknown, any partition.
    var partitioner: KeyPartitioner? = .consistentRandom
    var timeoutSeconds: Double = 120
    var scratchDirectory = NSTemporaryDirectory()

    enum Failure: Error, CustomStringConvertible {
        case kafka(KafkaError)
        case scratch(OutputIndex.Failure)

        var description: String {
            switch self {
            case .kafka(let error): "\(error)"
            case .scratch(let error): "\(error)"
            }
        }
    }

    /// The readers of the three topics (each reads one topic).
    struct Topics {
        var input: TopicReader
        var output: TopicReader
        var deadLetter: TopicReader
    }

    func audit(_ topics: Topics, progress: ProgressMeter) throws(Failure) -> AuditReport {
        var report = AuditReport()
        report.models = models.descriptions
        let inputExtents: [PartitionExtent]
        var outputEvidence: RetentionEvidence
        var deadLetterEvidence: RetentionEvidence
        do throws(KafkaError) {
            inputExtents = try topics.input.extents()
            outputEvidence = RetentionEvidence(partitioner: partitioner, extents: try topics.output.extents())
            deadLetterEvidence = RetentionEvidence(partitioner: partitioner, extents: try topics.deadLetter.extents())
        } catch {
            throw .kafka(error)
        }
        report.truncatedPartitions = inputExtents.filter { $0.low > 0 }.map { "\($0.partition) from \($0.low)" }
        report.truncatedOutputPartitions = outputEvidence.truncatedPartitions
        report.truncatedDeadLetterPartitions = deadLetterEvidence.truncatedPartitions
        progress.total = (inputExtents + outputEvidence.extents + deadLetterEvidence.extents).reduce(0) { $0 + $1.count }

        let index: OutputIndex
        do throws(OutputIndex.Failure) {
            index = try OutputIndex(inputs: inputExtents, directory: scratchDirectory)
        } catch {
            throw .scratch(error)
        }
        var names = ModelNames()
        var errorTypes = ErrorTypeNames()
        var scratchFailure: OutputIndex.Failure?

        // 1. Outputs into their input's slot.
        progress.phase = "reading outputs"
        do throws(KafkaError) {
            _ = try topics.output.stream(outputEvidence.extents, timeoutSeconds: timeoutSeconds) { streamed in
                progress.advance()
                guard scratchFailure == nil else { return }
                let record = streamed.record
                switch PublishedOutput(json: record.value, names: &names) {
                case .unreadable:
                    report.mismatched.add(record.partition, record.offset)
                case .shadow:
                    report.shadowOutputs += 1
                case .prediction(let partition, let offset, let copy):
                    report.outputs += 1
                    if copy.fallback { report.fallbackOutputs += 1 }
                    outputEvidence.saw(outputPartition: record.partition, sourcePartition: partition, sourceOffset: offset)
                    guard let slot = index.slot(partition: partition, offset: offset) else {
                        report.orphaned.add(partition, offset)
                        return
                    }
                    do throws(OutputIndex.Failure) { try index.addOutput(slot: slot, copy) } catch { scratchFailure = error }
                }
            }
            // 2. Dead letters likewise.
            progress.phase = "reading dead letters"
            _ = try topics.deadLetter.stream(deadLetterEvidence.extents, timeoutSeconds: timeoutSeconds) { streamed in
                progress.advance()
                report.deadLetterRecords += 1
                guard scratchFailure == nil,
                    let partition = streamed.header("source_partition").flatMap({ Int32($0) }),
                    let offset = streamed.header("source_offset").flatMap({ Int64($0) })
                else { return }
                deadLetterEvidence.saw(outputPartition: streamed.record.partition, sourcePartition: partition, sourceOffset: offset)
                guard let slot = index.slot(partition: partition, offset: offset) else {
                    report.orphaned.add(partition, offset)
                    return
                }
                let type = errorTypes.index(streamed.header("error_type") ?? "")
                do throws(OutputIndex.Failure) { try index.addDeadLetter(slot: slot, type: type) } catch { scratchFailure = error }
            }
        } catch {
            throw .kafka(error)
        }
        if let scratchFailure { throw .scratch(scratchFailure) }

        // 3. The replay, partition by partition in offset order, joined with the slots.
        progress.phase = "replaying inputs"
        let template = RecordPipeline(model: models.models[0], maxRecordBytes: maxRecordBytes, maxKeys: maxKeys, idleSeconds: idleSeconds)
        let now = Date().timeIntervalSince1970
        let judge = Judge(
            models: models, names: names, errorTypes: errorTypes, relativeTolerance: relativeTolerance,
            outputEvidence: outputEvidence, deadLetterEvidence: deadLetterEvidence
        )
        for extent in inputExtents where extent.count > 0 {
            var pipeline = template
            var cursor = OutputIndex.Cursor(index: index, partition: extent.partition)
            var next = extent.low
            // Offsets with no record (transaction markers): anything published for them is an orphan.
            func orphansBefore(_ end: Int64) throws(OutputIndex.Failure) {
                while next < end {
                    if !(try cursor.slot(at: next)).isEmpty { report.orphaned.add(extent.partition, next) }
                    next += 1
                }
            }
            do throws(KafkaError) {
                _ = try topics.input.stream([extent], timeoutSeconds: timeoutSeconds) { streamed in
                    progress.advance()
                    guard scratchFailure == nil else { return }
                    let record = streamed.record
                    report.inputs += 1
                    let outcome = pipeline.process(
                        value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: now, timings: nil
                    )
                    do throws(OutputIndex.Failure) {
                        try orphansBefore(record.offset)
                        next = record.offset + 1
                        judge.judge(outcome, found: try cursor.slot(at: record.offset), record: record, into: &report)
                    } catch {
                        scratchFailure = error
                    }
                }
                if scratchFailure == nil {
                    do throws(OutputIndex.Failure) { try orphansBefore(extent.high) } catch { scratchFailure = error }
                }
            } catch {
                throw .kafka(error)
            }
            if let scratchFailure { throw .scratch(scratchFailure) }
        }
        report.passed = report.ok
        return report
    }
}

/// Error types of dead letters, interned to one byte per slot (bounded; past 254 names they share 255).
struct ErrorTypeNames {
    private var indices: [String: UInt8] = [:]
    private var names: [String] = []

    mutating func index(_ name: String) -> UInt8 {
        if let index = indices[name] { return index }
        guard names.count < 255 else { return 255 }
        let index = UInt8(names.count)
        indices[name] = index
        names.append(name)
        return index
    }

    func name(_ index: UInt8) -> String? { Int(index) < names.count ? names[Int(index)] : nil }
}

/// The verdict on one input: its replayed outcome against what the topics hold for it.
struct Judge {
    let models: AuditModels
    let names: ModelNames
    let errorTypes: ErrorTypeNames
    let relativeTolerance: Double
    let outputEvidence: RetentionEvidence
    let deadLetterEvidence: RetentionEvidence

    /// The error type the daemon dead-letters a record with when its model fails (no replay can reproduce it).
    static let modelErrorType = "model_error"

    func judge(_ outcome: RecordOutcome, found slot: OutputSlot, record: ConsumedRecord, into report: inout AuditReport) {
        let (partition, offset) = (record.partition, record.offset)
        switch outcome {
        case .prediction(let expected):
            report.expectedPredictions += 1
            if slot.outputCount == 0 {
                if slot.deadLetterCount > 0 {
                    // Dead-lettered for a model failure (scoring returned no usable number): the record was
                    // handled, by the daemon's rule, but not by one the replay can reproduce.
                    if !slot.deadLetterTypesDiffer, errorTypes.name(slot.deadLetterType) == Self.modelErrorType {
                        report.modelErrors.add(partition, offset)
                    } else {
                        report.mismatched.add(partition, offset)
                    }
                    return
                }
                var key = expected.productId
                let verdict = key.withUTF8 { bytes in
                    outputEvidence.verdict(sourcePartition: partition, sourceOffset: offset, key: UnsafeRawBufferPointer(bytes))
                }
                note(verdict, partition, offset, into: &report)
                return
            }
            if slot.outputCount > 1 { report.duplicated.add(partition, offset) }
            var wrong = slot.deadLetterCount > 0
            var unknown = false
            for copy in slot.copies {
                switch check(copy, expected) {
                case .match: break
                case .mismatch: wrong = true
                case .unknownModel: unknown = true
                }
            }
            if wrong { report.mismatched.add(partition, offset) }
            if unknown { report.unknownModel.add(partition, offset) }
            if slot.uncheckedCopies { report.uncheckedCopies.add(partition, offset) }
        case .deadLetter(let error):
            report.expectedDeadLetters += 1
            if slot.deadLetterCount == 0 {
                if slot.outputCount > 0 {
                    report.mismatched.add(partition, offset)
                } else {
                    note(deadLetterEvidence.verdict(sourcePartition: partition, sourceOffset: offset, key: record.key), partition, offset, into: &report)
                }
                return
            }
            if slot.deadLetterCount > 1 { report.duplicated.add(partition, offset) }
            if slot.outputCount > 0 || slot.deadLetterTypesDiffer || errorTypes.name(slot.deadLetterType) != error.type.rawValue {
                report.mismatched.add(partition, offset)
            }
        case .skipped:
            report.expectedSkips += 1
            if !slot.isEmpty { report.unexpected.add(partition, offset) }
        }
    }

    private func note(_ verdict: RetentionEvidence.Verdict, _ partition: Int32, _ offset: Int64, into report: inout AuditReport) {
        switch verdict {
        case .lost:
            report.lost.add(partition, offset)
        case .truncated:
            report.truncated.add(partition, offset)
        case .truncatedUnverifiable:
            report.truncated.add(partition, offset)
            report.truncatedUnverifiable += 1
        }
    }

    enum Check { case match, mismatch, unknownModel }

    /// `copy` against the replay scored by the model `copy` names.
    func check(_ copy: OutputCopy, _ expected: Prediction) -> Check {
        guard let identity = names.identity(copy.model),
            let model = models.model(variant: identity.variant, version: identity.version)
        else { return .unknownModel }
        let score = model.predict(expected.features)
        guard Int(copy.label) == score.prediction, close(copy.probability, score.probability),
            copy.productHash == OutputCopy.hash(expected.productId)
        else { return .mismatch }
        for index in 0..<FeatureVector.names.count {
            let value = copy.feature(index)
            let wanted = expected.features[index]
            if wanted.isFinite ? !close(value, wanted) : value.isFinite { return .mismatch }
        }
        return .match
    }

    private func close(_ actual: Double, _ expected: Double) -> Bool {
        abs(actual - expected) <= max(1e-15, relativeTolerance * abs(expected))
    }
}

import ConsumerMetrics
import FeaturePipeline
import StreamConsumer

/// The daemon's hot path: one input record → pipeline outcome → output bytes, with per-stage metrics.
///
/// Called by one thread at a time — the processing thread, or the handler stage with `PROCESSING_THREADS=2` (see
/// ``StreamProcessorOptions/handlerThread``) — so it keeps mutable per-product state without locks; only
/// ``prepare(_:in:)`` (decoding, which reads no state) runs on the processing thread beside the stage. Each input partition has its own pipeline (products are keyed, so a product lives in one partition):
/// state bounds and evictions then depend only on that partition's stream, exactly as the audit replays it, and
/// a lagging partition never makes another one's products look idle.
final class PredictionHandler: RecordHandler {
    /// Dead-letter records of oversize inputs keep this many leading bytes.
    static let oversizeKeptBytes = 64 * 1024

    /// An empty pipeline with the configured model and bounds, copied for each new partition.
    private var template: RecordPipeline
    private var pipelines = PartitionPipelines()
    private var recordsSinceStateKeys = 0
    private let metrics: ConsumerMetrics
    private var timings = StageTimings()
    /// Stage timings are taken on every 16th record: four clock reads and histogram updates less per record,
    /// while `processing_seconds` still sees every record.
    private var sampleCounter: UInt32 = 0
    static let stageSamplingMask: UInt32 = 15
    private let stallInjection: StallInjection?
    private let nonFiniteInjection: NonFiniteScoreInjection?

    /// Decodes ahead (``prepare(_:in:)``): the pipeline as configured at start, never mutated, so the processing
    /// thread may use it while the handler's thread changes `template` (decoding depends on no model or state).
    private let decoding: RecordPipeline
    /// What ``prepare(_:in:)`` decoded, by slot.
    private let decodedAhead = DecodedAhead()
    /// The processing thread's own sampling counter for decode timings (``prepare(_:in:)``).
    private var prepareCounter: UInt32 = 0

    /// The models in force and their output encoders; replaced between two records when the switchboard offers a
    /// new set.
    private var models: ModelSet
    private var encoders: Encoders
    private let switchboard: ModelSwitchboard?
    /// Where shadow predictions are published (`SHADOW_TOPIC`), if anywhere.
    private let shadowTopic: ExtraTopic?
    private var shadowBuffer: [UInt8] = []
    /// Realised labels and drift (issue 13).
    private var quality: QualityTracking
    /// H: a rebuild replays the feature window plus this, so open label horizons are restored.
    private var labelHorizonSeconds: Double
    /// Where completed label horizons are published (`OUTCOMES_TOPIC`), if anywhere.
    private let outcomesTopic: ExtraTopic?
    private let outcomeEncoder = OutcomeEncoder()
    private var outcomeBuffer: [UInt8] = []

    /// The rendered model parts of every output the current set can give.
    struct Encoders {
        var active: PredictionEncoder
        var activeTag: UInt8
        /// A record the ML model scored non-finite, scored by the fallback baseline instead.
        var fallback: PredictionEncoder?
        var shadow: PredictionEncoder?

        init(_ set: ModelSet) {
            let active = set.active
            self.active = PredictionEncoder(
                modelVariant: active.variant, modelVersion: active.version, threshold: active.threshold,
                fallbackReason: set.fallbackActive?.reason
            )
            self.activeTag = Self.tag(active.variant)
            self.fallback = set.fallback.map {
                PredictionEncoder(modelVariant: $0.variant, modelVersion: $0.version, threshold: $0.threshold, fallbackReason: .nonFiniteScore)
            }
            self.shadow = set.shadow.map {
                PredictionEncoder(modelVariant: $0.variant, modelVersion: $0.version, threshold: $0.threshold, shadow: true)
            }
        }

        /// `OutputKind.prediction`'s model tag: the variant, for per-variant metrics on delivery.
        static func tag(_ variant: ModelVariant) -> UInt8 { variant == .ml ? 0 : 1 }
        static func variant(ofTag tag: UInt8) -> ModelVariantLabel { tag == 0 ? .ml : .baseline }
    }

    init(
        pipeline: RecordPipeline, models: ModelSet? = nil, metrics: ConsumerMetrics, switchboard: ModelSwitchboard? = nil,
        shadowTopic: ExtraTopic? = nil, stallInjection: StallInjection? = nil,
        nonFiniteInjection: NonFiniteScoreInjection? = nil,
        quality: QualityConfiguration.Resolved? = nil, outcomesTopic: ExtraTopic? = nil
    ) {
        self.stallInjection = stallInjection
        self.quality = QualityTracking(resolved: quality, metrics: metrics.quality)
        self.labelHorizonSeconds = quality?.labelSettings?.horizonSeconds ?? 0
        self.outcomesTopic = outcomesTopic
        self.nonFiniteInjection = nonFiniteInjection
        self.template = pipeline
        self.decoding = pipeline
        let models = models ?? ModelSet(active: pipeline.model)
        self.models = models
        self.encoders = Encoders(models)
        self.template.model = models.active
        self.switchboard = switchboard
        self.shadowTopic = shadowTopic
        self.metrics = metrics
    }

    /// Puts a new model set in force (between two records): every partition's pipeline scores with it from the
    /// next record on; the windows are kept (they do not depend on the model).
    private func switchModels(to next: ModelSwitch) {
        let set = next.set
        models = set
        encoders = Encoders(set)
        template.model = set.active
        pipelines.updateAll { $0.model = set.active }
        // Drift is measured against the new active model's reference from its first record; horizons opened
        // from now on use its label threshold (open ones keep theirs).
        resetDrift(next.quality.drift)
        setLabelSettings(next.quality.labelSettings)
    }

    func resetState(partitions: Set<Int32>) {
        for partition in partitions { pipelines.remove(partition) }
        metrics.setStateKeys(pipelines.productCount)
    }

    /// Runs the same path as ``handle(_:output:)`` — so the rebuilt windows are exactly those of an
    /// uninterrupted run — and discards the outcome.
    func warmUp(_ record: ConsumedRecord) {
        let outcome = pipelines[record.partition, default: template].process(
            value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: Clock.wallSeconds(), timings: nil
        )
        if quality.labelsEnabled {
            // Reopen the horizons the replayed predictions opened (their outcomes before the resume point were
            // published by the run that handled those records), with the active and the shadow score, so a restart
            // emits the outcomes of both roles an uninterrupted run would.
            var scores: LabelScores?
            if case .prediction(let prediction) = outcome {
                scores = LabelScores(active: activeScore(prediction), shadow: shadowScore(prediction))
            }
            var unused = ExtraOutputs()
            trackLabels(
                scores, record: record, pipeline: &pipelines[record.partition, default: template], extras: &unused,
                live: false)
        }
        updateStateKeys(every: 1024)
    }

    /// The feature window plus the label horizon: a rebuild must replay at least this much event time before
    /// the resume point (the windows, then the horizons opened in the last H seconds).
    var stateReachSeconds: Double? { template.windows.windowSeconds + labelHorizonSeconds }

    /// Starts a new drift window for a newly loaded model (its reference's ``DriftMonitor``, or `nil` when it
    /// has no reference). Call between two records, on the processing thread (as ``switchModels(to:)``).
    func resetDrift(_ drift: DriftMonitor?) {
        quality.resetDrift(drift)
    }

    /// New label settings after a model reload (τ may come from the new model's reference): horizons opened
    /// from now on use them, open ones keep theirs. `nil` stops opening horizons.
    func setLabelSettings(_ settings: LabelSettings?) {
        quality.labelsEnabled = settings != nil
        if let settings { labelHorizonSeconds = settings.horizonSeconds }
        template.setLabelSettings(settings)
        pipelines.updateAll { $0.setLabelSettings(settings) }
    }

    /// The scores a prediction opens a label horizon with.
    struct LabelScores {
        var active: HorizonScore
        var shadow: HorizonScore?
    }

    /// The shadow model's horizon score of a prediction (`nil` without a shadow).
    private func shadowScore(_ prediction: Prediction) -> HorizonScore? {
        guard let shadow = models.shadow else { return nil }
        let score = shadow.predict(prediction.features)
        return HorizonScore(
            role: .shadow, variant: shadow.variant, version: shadow.version, probability: score.probability,
            prediction: score.prediction)
    }

    private func activeScore(_ prediction: Prediction) -> HorizonScore {
        HorizonScore(
            role: .active, variant: models.active.variant, version: models.active.version,
            probability: prediction.score.probability, prediction: prediction.score.prediction)
    }

    /// Opens a horizon for a prediction (`scores`), then counts the outcomes this record completed and the
    /// horizons dropped meanwhile, and publishes the outcomes to `OUTCOMES_TOPIC` as further outputs of this
    /// record — unless not `live` (a rebuild replaying records whose outputs exist already).
    private func trackLabels(
        _ scores: LabelScores?, record: ConsumedRecord, pipeline: inout RecordPipeline, extras: inout ExtraOutputs,
        live: Bool
    ) {
        if let scores {
            pipeline.openHorizon(
                source: RecordSource(topic: record.topic, partition: record.partition, offset: record.offset),
                first: scores.active, second: scores.shadow)
        }
        let expiries = pipeline.takeLabelExpiries()
        guard live else { return }
        let completed = pipeline.completedOutcomes
        quality.recordLabels(completed, expiries: expiries)
        guard let outcomesTopic, !completed.isEmpty else { return }
        for outcome in completed {
            outcomeEncoder.encode(outcome, into: &outcomeBuffer)
            extras.append(topic: outcomesTopic, key: outcome.productId, value: outcomeBuffer)
        }
    }

    func eventTime(of record: ConsumedRecord) -> Double? {
        template.eventTime(value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: Clock.wallSeconds())
    }

    /// Products held across partitions (summed every `every` records: the gauge need not move per record).
    private func updateStateKeys(every: Int) {
        recordsSinceStateKeys += 1
        guard recordsSinceStateKeys >= every else { return }
        recordsSinceStateKeys = 0
        metrics.setStateKeys(pipelines.productCount)
    }

    func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition {
        var extras = ExtraOutputs()
        return handle(record, output: &output, extras: &extras)
    }

    func handle(_ record: ConsumedRecord, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition {
        handle(record, decoded: nil, output: &output, extras: &extras)
    }

    // MARK: - Decoding ahead (the handler on a thread of its own)

    /// With the handler on a thread of its own, records are decoded on the processing thread as they are
    /// admitted (decoding reads no state), and the handler's thread does the rest: the two threads share the
    /// per-record work instead of one doing it all.
    var preparesRecords: Bool { true }

    func prepare(_ record: ConsumedRecord, in slot: PreparedSlot) {
        let sampled = prepareCounter & Self.stageSamplingMask == 0
        prepareCounter &+= 1
        let started = sampled ? Clock.monotonicNanos() : 0
        let decoded = decoding.decode(value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: Clock.wallSeconds())
        if sampled { metrics.recordStage(.decode, seconds: Double(Clock.monotonicNanos() &- started) / 1e9) }
        decodedAhead.write(decoded, at: slot)
    }

    func handle(_ record: ConsumedRecord, prepared slot: PreparedSlot, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition {
        handle(record, decoded: decodedAhead.take(at: slot), output: &output, extras: &extras)
    }

    /// One record; `decoded`: what ``prepare(_:in:)`` decoded (`nil`: decode it here).
    private func handle(
        _ record: ConsumedRecord, decoded: Result<DecodedRecord, RecordError>?, output: inout [UInt8], extras: inout ExtraOutputs
    ) -> RecordDisposition {
        if let next = switchboard?.take() { switchModels(to: next) }
        if let stallInjection { stallInjection.stallIfMarked(record.value) }
        let started = Clock.monotonicNanos()
        let now = Clock.wallSeconds()
        let sampled = sampleCounter & Self.stageSamplingMask == 0
        sampleCounter &+= 1
        let outcome: RecordOutcome
        if sampled {
            timings = StageTimings()
            outcome = withUnsafeMutablePointer(to: &timings) { process(record, decoded: decoded, now: now, timings: $0) }
            if decoded == nil { metrics.recordStage(.decode, seconds: Double(timings.decodeNanos) / 1e9) }
        } else {
            outcome = process(record, decoded: decoded, now: now, timings: nil)
        }
        metrics.recordProcessed(at: now)
        let disposition: RecordDisposition
        var eventTime: Double?
        var labelScores: LabelScores?
        switch outcome {
        case .prediction(var prediction):
            prediction: do {
                if sampled {
                    metrics.recordStage(.features, seconds: Double(timings.featuresNanos) / 1e9)
                    metrics.recordStage(.predict, seconds: Double(timings.predictNanos) / 1e9)
                }
                let source = RecordSource(topic: record.topic, partition: record.partition, offset: record.offset)
                var encoder = encoders.active
                var tag = encoders.activeTag
                let forced = nonFiniteInjection?.isMarked(record.value) ?? false
                if forced || (models.active.variant == .ml && !prediction.score.probability.isFinite) {
                    switch models.scoreActive(prediction.features, forceNonFinite: forced) {
                    case .scored(let score):
                        prediction.score = score
                    case .fellBack(let score):
                        prediction.score = score
                        encoder = encoders.fallback ?? encoder
                        tag = Encoders.tag(.baseline)
                        metrics.model.recordFallback(.nonFiniteScore)
                    case .failed:
                        // Dead-lettered; the tick stays in its window and the horizons it completes still publish.
                        metrics.recordError(.modelError)
                        disposition = .deadLetter(DeadLetter(
                            errorType: ErrorType.modelError.rawValue,
                            reason: "the \(models.active.variant.rawValue) model \(models.active.version) gave a non-finite score"
                        ))
                        break prediction
                    }
                }
                let encodeStarted = sampled ? Clock.monotonicNanos() : 0
                encoder.encode(prediction, processingTime: now, source: source, into: &output)
                if sampled { metrics.recordStage(.encode, seconds: Double(Clock.monotonicNanos() &- encodeStarted) / 1e9) }
                var shadowScore: ModelScore?
                if let shadow = models.shadow {
                    shadowScore = scoreShadow(shadow, prediction, now: now, source: source, extras: &extras)
                }
                eventTime = prediction.eventTime
                if quality.labelsEnabled {
                    var scores = LabelScores(active: activeScore(prediction))
                    if tag != encoders.activeTag, let fallback = models.fallback {  // scored by the fallback
                        scores.active.variant = fallback.variant
                        scores.active.version = fallback.version
                    }
                    if let shadowScore, let shadow = models.shadow {
                        scores.shadow = HorizonScore(
                            role: .shadow, variant: shadow.variant, version: shadow.version,
                            probability: shadowScore.probability, prediction: shadowScore.prediction)
                    }
                    labelScores = scores
                }
                if tag == encoders.activeTag { quality.recordPrediction(prediction) }
                disposition = .publish(
                    key: prediction.productId,
                    kind: .prediction(label: Int8(prediction.score.prediction), probability: prediction.score.probability, model: tag)
                )
            }
        case .skipped(let reason):
            metrics.recordSkip(reason.rawValue)
            disposition = .skip
        case .deadLetter(let error):
            metrics.recordError(ErrorType(error.type))
            disposition = .deadLetter(DeadLetter(
                errorType: error.type.rawValue,
                reason: error.reason,
                truncateTo: error.type == .oversize ? Self.oversizeKeptBytes : nil
            ))
        }
        if quality.labelsEnabled {
            trackLabels(
                labelScores, record: record, pipeline: &pipelines[record.partition, default: template], extras: &extras,
                live: true)
        }
        metrics.recordProcessingSeconds(Double(Clock.monotonicNanos() &- started) / 1e9)
        metrics.recordLag(recordTimestamp: record.timestamp, eventTime: eventTime, now: now)
        updateStateKeys(every: 256)
        return disposition
    }

    /// The record's partition pipeline on `record`, from its bytes or from what was decoded ahead.
    private func process(
        _ record: ConsumedRecord, decoded: Result<DecodedRecord, RecordError>?, now: Double,
        timings: UnsafeMutablePointer<StageTimings>?
    ) -> RecordOutcome {
        if let decoded {
            return pipelines[record.partition, default: template].process(decoded: decoded, timings: timings)
        }
        return pipelines[record.partition, default: template].process(
            value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: now, timings: timings)
    }

    /// Scores the record's features with the shadow model too: compared with the published decision, and
    /// published to `SHADOW_TOPIC` when one is set (an output of the same input, committed with it).
    @discardableResult
    private func scoreShadow(
        _ shadow: LoadedModel, _ prediction: Prediction, now: Double, source: RecordSource, extras: inout ExtraOutputs
    ) -> ModelScore {
        var shadowPrediction = prediction
        shadowPrediction.score = shadow.predict(prediction.features)
        metrics.model.recordShadow(
            variant: ModelVariantLabel(shadow.variant), prediction: shadowPrediction.score.prediction,
            activePrediction: prediction.score.prediction,
            probabilityDifference: abs(prediction.score.probability - shadowPrediction.score.probability)
        )
        guard let shadowTopic, let encoder = encoders.shadow else { return shadowPrediction.score }
        encoder.encode(shadowPrediction, processingTime: now, source: source, into: &shadowBuffer)
        extras.append(topic: shadowTopic, key: prediction.productId, value: shadowBuffer)
        return shadowPrediction.score
    }
}

extension ErrorType {
    /// The metrics label of a record error.
    init(_ type: RecordErrorType) {
        switch type {
        case .parseError: self = .parseError
        case .schemaError: self = .schemaError
        case .invalidValue: self = .invalidValue
        case .oversize: self = .oversize
        }
    }
}

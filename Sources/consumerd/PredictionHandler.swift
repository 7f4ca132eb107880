import ConsumerMetrics
import FeaturePipeline
import StreamConsumer

/// The daemon's hot path: one input record → pipeline outcome → output bytes, with per-stage metrics.
///
/// Runs on the processing thread only (see ``StreamProcessor``), so it keeps mutable per-product state without
/// locks. Each input partition has its own pipeline (products are keyed, so a product lives in one partition):
/// state bounds and evictions then depend only on that partition's stream, exactly as the audit replays it, and
/// a lagging partition never makes another one's products look idle.
final class PredictionHandler: RecordHandler {
    /// Dead-letter records of oversize inputs keep this many leading bytes.
    static let oversizeKeptBytes = 64 * 1024

    /// An empty pipeline with the configured model and bounds, copied for each new partition.
    private var template: RecordPipeline
    private var pipelines: [Int32: RecordPipeline] = [:]
    private var recordsSinceStateKeys = 0
    private let metrics: ConsumerMetrics
    private var timings = StageTimings()
    /// Stage timings are taken on every 16th record: four clock reads and histogram updates less per record,
    /// while `processing_seconds` still sees every record.
    private var sampleCounter: UInt32 = 0
    static let stageSamplingMask: UInt32 = 15
    private let stallInjection: StallInjection?
    private let nonFiniteInjection: NonFiniteScoreInjection?

    /// The models in force and their output encoders; replaced between two records when the switchboard offers a
    /// new set.
    private var models: ModelSet
    private var encoders: Encoders
    private let switchboard: ModelSwitchboard?
    /// Where shadow predictions are published (`SHADOW_TOPIC`), if anywhere.
    private let shadowTopic: ExtraTopic?
    private var shadowBuffer: [UInt8] = []

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
        nonFiniteInjection: NonFiniteScoreInjection? = nil
    ) {
        self.stallInjection = stallInjection
        self.nonFiniteInjection = nonFiniteInjection
        self.template = pipeline
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
    private func switchModels(to set: ModelSet) {
        models = set
        encoders = Encoders(set)
        template.model = set.active
        for partition in pipelines.keys { pipelines[partition]?.model = set.active }
    }

    func resetState(partitions: Set<Int32>) {
        for partition in partitions { pipelines[partition] = nil }
        metrics.setStateKeys(pipelines.values.reduce(0) { $0 + $1.windows.productCount })
    }

    /// Runs the same path as ``handle(_:output:)`` — so the rebuilt windows are exactly those of an
    /// uninterrupted run — and discards the outcome.
    func warmUp(_ record: ConsumedRecord) {
        _ = pipelines[record.partition, default: template].process(
            value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: Clock.wallSeconds(), timings: nil
        )
        updateStateKeys(every: 1024)
    }

    /// The feature window: a rebuild must replay at least this much event time before the resume point.
    var stateReachSeconds: Double? { template.windows.windowSeconds }

    func eventTime(of record: ConsumedRecord) -> Double? {
        template.eventTime(value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: Clock.wallSeconds())
    }

    /// Products held across partitions (summed every `every` records: the gauge need not move per record).
    private func updateStateKeys(every: Int) {
        recordsSinceStateKeys += 1
        guard recordsSinceStateKeys >= every else { return }
        recordsSinceStateKeys = 0
        metrics.setStateKeys(pipelines.values.reduce(0) { $0 + $1.windows.productCount })
    }

    func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition {
        var extras = ExtraOutputs()
        return handle(record, output: &output, extras: &extras)
    }

    func handle(_ record: ConsumedRecord, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition {
        if let next = switchboard?.take() { switchModels(to: next) }
        if let stallInjection { stallInjection.stallIfMarked(record.value) }
        let started = Clock.monotonicNanos()
        let now = Clock.wallSeconds()
        let sampled = sampleCounter & Self.stageSamplingMask == 0
        sampleCounter &+= 1
        let outcome: RecordOutcome
        if sampled {
            timings = StageTimings()
            outcome = withUnsafeMutablePointer(to: &timings) { timings in
                pipelines[record.partition, default: template].process(
                    value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: now, timings: timings
                )
            }
            metrics.recordStage(.decode, seconds: Double(timings.decodeNanos) / 1e9)
        } else {
            outcome = pipelines[record.partition, default: template].process(
                value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: now, timings: nil
            )
        }
        metrics.recordProcessed(at: now)
        let disposition: RecordDisposition
        var eventTime: Double?
        switch outcome {
        case .prediction(var prediction):
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
                    metrics.recordError(.modelError)
                    metrics.recordProcessingSeconds(Double(Clock.monotonicNanos() &- started) / 1e9)
                    return .deadLetter(DeadLetter(
                        errorType: ErrorType.modelError.rawValue,
                        reason: "the \(models.active.variant.rawValue) model \(models.active.version) gave a non-finite score"
                    ))
                }
            }
            let encodeStarted = sampled ? Clock.monotonicNanos() : 0
            encoder.encode(prediction, processingTime: now, source: source, into: &output)
            if sampled { metrics.recordStage(.encode, seconds: Double(Clock.monotonicNanos() &- encodeStarted) / 1e9) }
            if let shadow = models.shadow { scoreShadow(shadow, prediction, now: now, source: source, extras: &extras) }
            eventTime = prediction.eventTime
            disposition = .publish(
                key: prediction.productId,
                kind: .prediction(label: Int8(prediction.score.prediction), probability: prediction.score.probability, model: tag)
            )
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
        metrics.recordProcessingSeconds(Double(Clock.monotonicNanos() &- started) / 1e9)
        metrics.recordLag(recordTimestamp: record.timestamp, eventTime: eventTime, now: now)
        updateStateKeys(every: 256)
        return disposition
    }

    /// Scores the record's features with the shadow model too: compared with the published decision, and
    /// published to `SHADOW_TOPIC` when one is set (an output of the same input, committed with it).
    private func scoreShadow(
        _ shadow: LoadedModel, _ prediction: Prediction, now: Double, source: RecordSource, extras: inout ExtraOutputs
    ) {
        var shadowPrediction = prediction
        shadowPrediction.score = shadow.predict(prediction.features)
        metrics.model.recordShadow(
            variant: ModelVariantLabel(shadow.variant), prediction: shadowPrediction.score.prediction,
            activePrediction: prediction.score.prediction,
            probabilityDifference: abs(prediction.score.probability - shadowPrediction.score.probability)
        )
        guard let shadowTopic, let encoder = encoders.shadow else { return }
        encoder.encode(shadowPrediction, processingTime: now, source: source, into: &shadowBuffer)
        extras.append(topic: shadowTopic, key: prediction.productId, value: shadowBuffer)
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

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
    private let encoder: PredictionEncoder
    private let metrics: ConsumerMetrics
    private var timings = StageTimings()
    /// Stage timings are taken on every 16th record: four clock reads and histogram updates less per record,
    /// while `processing_seconds` still sees every record.
    private var sampleCounter: UInt32 = 0
    static let stageSamplingMask: UInt32 = 15
    private let stallInjection: StallInjection?
    /// Realised labels and drift (issue 13).
    private var quality: QualityTracking
    /// H: a rebuild replays the feature window plus this, so open label horizons are restored.
    private let labelHorizonSeconds: Double

    init(
        pipeline: RecordPipeline, metrics: ConsumerMetrics, stallInjection: StallInjection? = nil,
        quality: QualityConfiguration.Resolved? = nil
    ) {
        self.stallInjection = stallInjection
        self.quality = QualityTracking(resolved: quality, metrics: metrics.quality)
        self.labelHorizonSeconds = quality?.labelSettings?.horizonSeconds ?? 0
        self.template = pipeline
        let model = pipeline.model
        self.encoder = PredictionEncoder(modelVariant: model.variant, modelVersion: model.version, threshold: model.threshold)
        self.metrics = metrics
    }

    func resetState(partitions: Set<Int32>) {
        for partition in partitions { pipelines[partition] = nil }
        metrics.setStateKeys(pipelines.values.reduce(0) { $0 + $1.windows.productCount })
    }

    /// Runs the same path as ``handle(_:output:)`` — so the rebuilt windows are exactly those of an
    /// uninterrupted run — and discards the outcome.
    func warmUp(_ record: ConsumedRecord) {
        let outcome = pipelines[record.partition, default: template].process(
            value: record.value, key: record.key, kafkaTimestamp: record.timestamp, now: Clock.wallSeconds(), timings: nil
        )
        if quality.labelsEnabled {
            // Reopen the horizons the replayed predictions opened; their outcomes before the resume point were
            // emitted by the run that handled those records.
            trackLabels(outcome, record: record, pipeline: &pipelines[record.partition, default: template], live: false)
        }
        updateStateKeys(every: 1024)
    }

    /// The feature window plus the label horizon: a rebuild must replay at least this much event time before
    /// the resume point (windows, then the open horizons of the last H seconds).
    var stateReachSeconds: Double? { template.windows.windowSeconds + labelHorizonSeconds }

    /// Starts a new drift window for a newly loaded model (its reference's `DriftMonitor`, or `nil`).
    func resetDrift(_ drift: DriftMonitor?) {
        quality.resetDrift(drift)
    }

    /// New label settings after a model reload (τ may come from the new model's reference): horizons opened
    /// from now on use them, open ones keep theirs. `nil` stops opening horizons.
    func setLabelSettings(_ settings: LabelSettings?) {
        quality.labelsEnabled = settings != nil
        guard let settings else { return }
        template.setLabelSettings(settings)
        for partition in pipelines.keys { pipelines[partition]?.setLabelSettings(settings) }
    }

    /// Opens a horizon for a prediction and hands the outcomes (and expiries) of this record to the metrics
    /// when `live`.
    private func trackLabels(_ outcome: RecordOutcome, record: ConsumedRecord, pipeline: inout RecordPipeline, live: Bool) {
        if case .prediction(let prediction) = outcome {
            let model = pipeline.model
            pipeline.openHorizon(
                source: RecordSource(topic: record.topic, partition: record.partition, offset: record.offset),
                first: HorizonScore(
                    role: .active, variant: model.variant, version: model.version,
                    probability: prediction.score.probability, prediction: prediction.score.prediction))
        }
        let expiries = pipeline.takeLabelExpiries()
        if live { quality.recordLabels(pipeline.labels.completed, expiries: expiries) }
    }

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
        if quality.labelsEnabled {
            trackLabels(outcome, record: record, pipeline: &pipelines[record.partition, default: template], live: true)
        }
        let disposition: RecordDisposition
        var eventTime: Double?
        switch outcome {
        case .prediction(let prediction):
            if sampled {
                metrics.recordStage(.features, seconds: Double(timings.featuresNanos) / 1e9)
                metrics.recordStage(.predict, seconds: Double(timings.predictNanos) / 1e9)
            }
            let encodeStarted = sampled ? Clock.monotonicNanos() : 0
            encoder.encode(
                prediction,
                processingTime: now,
                source: RecordSource(topic: record.topic, partition: record.partition, offset: record.offset),
                into: &output
            )
            if sampled { metrics.recordStage(.encode, seconds: Double(Clock.monotonicNanos() &- encodeStarted) / 1e9) }
            eventTime = prediction.eventTime
            quality.recordPrediction(prediction)
            disposition = .publish(
                key: prediction.productId,
                kind: .prediction(label: Int8(prediction.score.prediction), probability: prediction.score.probability)
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

//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// Names, help texts and buckets of every metric consumerd exports. The first
// six names, their types, labels and buckets are inherited from the Python
// consumer and must not change: dashboards and alerts depend on them.
//
//===----------------------------------------------------------------------===//

import Prometheus

/// The catalogue of consumerd's metric families: one place for names, help and buckets.
public enum MetricCatalog {
    /// A metric family's name and `# HELP` text.
    public struct Family: Sendable, Hashable {
        /// The full Prometheus metric name.
        public let name: String
        /// The `# HELP` text.
        public let help: String

        var descriptor: MetricNameDescriptor {
            MetricNameDescriptor(metricName: self.name, unitName: "", helpText: self.help)
        }
    }

    // MARK: Inherited from the Python consumer (names, types, labels, buckets are a contract).

    public static let messagesProcessed = Family(
        name: "volatility_consumer_messages_processed_total",
        help: "Input records handled (predicted, dead-lettered or skipped)."
    )
    public static let predictionsMade = Family(
        name: "volatility_consumer_predictions_made_total",
        help: "Predictions published (delivery confirmed by the broker)."
    )
    public static let errors = Family(
        name: "volatility_consumer_errors_total",
        help: "Errors by type: record errors (parse_error, schema_error, invalid_value, oversize) and "
            + "operational errors (model_error, produce_error, kafka_error, commit_error)."
    )
    public static let processingSeconds = Family(
        name: "volatility_consumer_processing_seconds",
        help: "Per-record time from poll to prediction serialized, in seconds."
    )
    public static let lagSeconds = Family(
        name: "volatility_consumer_lag_seconds",
        help: "Seconds between now and the Kafka timestamp (CreateTime) of the oldest input record waiting to be "
            + "handled (of the last handled record while the waiting ones are not fetched yet; since the partition's "
            + "assignment while nothing was handled from it, e.g. during a state rebuild), computed at every "
            + "scrape so it keeps growing while the consumer is stalled or paused; 0 when nothing waits."
    )
    public static let processingRate = Family(
        name: "volatility_consumer_processing_rate",
        help: "Records processed per second over the last 10 s sliding window."
    )

    // MARK: consumerd additions.

    public static let recordsSkipped = Family(
        name: "volatility_consumer_records_skipped_total",
        help: "Input records consumed without a prediction or dead letter, by reason (no_price, warming_up)."
    )
    public static let dlqRecords = Family(
        name: "volatility_consumer_dlq_records_total",
        help: "Records delivered to the dead-letter topic, by record error type."
    )
    public static let predictions = Family(
        name: "volatility_consumer_predictions_total",
        help: "Delivered predictions by model variant and predicted class (0 or 1)."
    )
    public static let predictionProbability = Family(
        name: "volatility_consumer_prediction_probability",
        help: "Distribution of the predicted probability of the positive class for delivered predictions."
    )
    public static let stageSeconds = Family(
        name: "volatility_consumer_stage_seconds",
        help: "Time spent in each pipeline stage, in seconds: decode, features, predict and encode sampled on every 16th record; produce_ack on every output."
    )
    public static let endToEndSeconds = Family(
        name: "volatility_consumer_end_to_end_seconds",
        help: "Seconds from the input record's Kafka timestamp to the delivery report of its prediction."
    )
    public static let lagRecords = Family(
        name: "volatility_consumer_lag_records",
        help: "Records waiting to be handled per assigned partition (high watermark minus the consumer's position), "
            + "computed at every scrape."
    )
    public static let assignedPartitions = Family(
        name: "volatility_consumer_assigned_partitions",
        help: "Number of partitions currently assigned to this consumer."
    )
    public static let rebalances = Family(
        name: "volatility_consumer_rebalances_total",
        help: "Consumer-group rebalance events by kind (assign, revoke, lost)."
    )
    public static let offsetCommits = Family(
        name: "volatility_consumer_offset_commits_total",
        help: "Offset commits by result (ok, error)."
    )
    public static let ready = Family(
        name: "volatility_consumer_ready",
        help: "1 when /readyz reports ready (model loaded, partitions assigned, broker reachable), else 0."
    )
    public static let producerQueueMessages = Family(
        name: "volatility_consumer_producer_queue_messages",
        help: "Messages in the producer's queue awaiting delivery (librdkafka msg_cnt)."
    )
    public static let inflightRecords = Family(
        name: "volatility_consumer_inflight_records",
        help: "Records polled whose output has not yet been acknowledged by the broker."
    )
    public static let stateKeys = Family(
        name: "volatility_consumer_state_keys",
        help: "Number of keys (symbols) with rolling feature state held in memory."
    )
    public static let modelInfo = Family(
        name: "volatility_consumer_model_info",
        help: "Always 1; labels identify the loaded model (variant, version, path)."
    )
    public static let modelLoaded = Family(
        name: "volatility_consumer_model_loaded",
        help: "1 when the model is loaded and serving predictions, else 0."
    )
    public static let healthStatus = Family(
        name: "volatility_consumer_health_status",
        help: "1 when /healthz reports the processing loop alive, else 0."
    )
    public static let lastProgressTimestamp = Family(
        name: "volatility_consumer_last_progress_timestamp_seconds",
        help: "Wall-clock epoch seconds of the processing loop's last turn (busy or idle-waiting); the daemon's start "
            + "before the first turn. time() minus this is how long the loop has been stuck."
    )
    public static let lastRecordTimestamp = Family(
        name: "volatility_consumer_last_record_timestamp_seconds",
        help: "Wall-clock epoch seconds when the processing loop last handled an input record; 0 before the first record."
    )
    public static let stateRebuildRecords = Family(
        name: "volatility_consumer_state_rebuild_records_total",
        help: "Records replayed into the rolling windows by state rebuilds after partition assignments "
            + "(not counted in messages_processed_total)."
    )
    public static let fetchRestarts = Family(
        name: "volatility_consumer_fetch_restarts_total",
        help: "Partitions whose fetching was restarted because they should have been delivering (assigned, "
            + "active, not paused, not at their end) and delivered nothing for FETCH_STALL_SECONDS."
    )
    public static let stateRebuildSeconds = Family(
        name: "volatility_consumer_state_rebuild_seconds",
        help: "Duration of each state rebuild after a partition assignment, in seconds."
    )
    public static let buildInfo = Family(
        name: "volatility_consumer_build_info",
        help: "Always 1; labels identify the consumerd build (version, git revision), the linked librdkafka "
            + "(librdkafka) and the Swift compiler (swift)."
    )

    // MARK: Model quality (realised labels and drift; see ModelQualityMetrics).

    public static let realisedOutcomes = Family(
        name: "volatility_consumer_realised_outcomes_total",
        help: "Completed label horizons by model and by predicted and realised label (the confusion matrix): "
            + "realised label 1 when the population std of ln(mid) differences over the next "
            + "LABEL_HORIZON_SECONDS reaches the label threshold."
    )
    public static let realisedBrierSum = Family(
        name: "volatility_consumer_realised_brier_sum",
        help: "Sum of (probability - realised label)^2 over labelled completed horizons."
    )
    public static let realisedBrierCount = Family(
        name: "volatility_consumer_realised_brier_count",
        help: "Labelled completed horizons in volatility_consumer_realised_brier_sum."
    )
    public static let realisedUnlabelled = Family(
        name: "volatility_consumer_realised_unlabelled_total",
        help: "Completed horizons with fewer than 2 ln(mid) differences (no realised label)."
    )
    public static let realisedExpired = Family(
        name: "volatility_consumer_realised_expired_total",
        help: "Predictions whose label horizon was dropped before completing: max_pending (LABEL_MAX_PENDING), "
            + "capacity_eviction (STATE_MAX_KEYS), idle_eviction (STATE_IDLE_SECONDS)."
    )
    public static let featurePSI = Family(
        name: "volatility_consumer_feature_psi",
        help: "Population stability index of each feature over the last DRIFT_WINDOW_RECORDS predictions "
            + "against the model's reference profile (NaN until DRIFT_MIN_RECORDS)."
    )
    public static let predictionPSI = Family(
        name: "volatility_consumer_prediction_psi",
        help: "Population stability index of the model's probability over the drift window against the "
            + "reference profile (NaN until DRIFT_MIN_RECORDS)."
    )
    public static let featureNonFinite = Family(
        name: "volatility_consumer_feature_nonfinite_total",
        help: "Non-finite feature values (left out of the PSI), e.g. trade_intensity of a zero-length window."
    )
    public static let predictedPositiveRate = Family(
        name: "volatility_consumer_predicted_positive_rate",
        help: "Share of positive predictions of the active model over the drift window."
    )
    public static let referencePositiveRate = Family(
        name: "volatility_consumer_reference_positive_rate",
        help: "Predicted positive rate of the active model on its training data (from its reference profile)."
    )

    // MARK: Process metrics (client_python-compatible names).

    public static let processResidentMemory = Family(
        name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
    public static let processVirtualMemory = Family(
        name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
    public static let processCPUSeconds = Family(
        name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
    public static let processOpenFDs = Family(
        name: "process_open_fds", help: "Number of open file descriptors.")
    public static let processMaxFDs = Family(
        name: "process_max_fds", help: "Maximum number of open file descriptors.")
    public static let processStartTime = Family(
        name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.")

    /// Every family consumerd registers, in a stable order.
    public static let all: [Family] = [
        messagesProcessed, predictionsMade, errors, processingSeconds, lagSeconds, processingRate,
        recordsSkipped, dlqRecords, predictions, predictionProbability, stageSeconds, endToEndSeconds,
        lagRecords, assignedPartitions, rebalances, offsetCommits, ready, producerQueueMessages,
        inflightRecords, stateKeys, modelInfo, modelLoaded, healthStatus, lastProgressTimestamp, lastRecordTimestamp,
        stateRebuildRecords, stateRebuildSeconds, fetchRestarts, buildInfo,
        realisedOutcomes, realisedBrierSum, realisedBrierCount, realisedUnlabelled, realisedExpired, featurePSI,
        predictionPSI, featureNonFinite, predictedPositiveRate, referencePositiveRate,
        processResidentMemory, processVirtualMemory, processCPUSeconds, processOpenFDs, processMaxFDs,
        processStartTime,
        modelReloads, modelFallbackActive, modelFallbacks, modelSource, modelLastReloadTimestamp,
        shadowPredictions, shadowComparisons, shadowProbabilityDifference,
    ]

    // MARK: Model lifecycle (reload, fallback, registry, shadow)

    public static let modelReloads = Family(
        name: "volatility_consumer_model_reloads_total",
        help: "Model reloads (SIGHUP or admin request) by result: ok, or error (the previous model was kept).")
    public static let modelFallbackActive = Family(
        name: "volatility_consumer_model_fallback_active",
        help: "1 while the baseline scores every record because the ML model could not be loaded (MODEL_FALLBACK=baseline).")
    public static let modelFallbacks = Family(
        name: "volatility_consumer_model_fallbacks_total",
        help: "Fallbacks to the baseline: load_error (once per failed start-up or reload), non_finite_score (per record).")
    public static let modelSource = Family(
        name: "volatility_consumer_model_source",
        help: "1 for where the active model came from: registry, cache (registry unreachable), or file.")
    public static let modelLastReloadTimestamp = Family(
        name: "volatility_consumer_model_last_reload_timestamp_seconds",
        help: "Unix time of the last model reload attempt (0: none since start-up).")
    public static let shadowPredictions = Family(
        name: "volatility_consumer_shadow_predictions_total",
        help: "Records scored by the shadow model, by its variant and predicted class.")
    public static let shadowComparisons = Family(
        name: "volatility_consumer_shadow_comparisons_total",
        help: "Shadow decisions compared with the active model's: agree or disagree.")
    public static let shadowProbabilityDifference = Family(
        name: "volatility_consumer_shadow_probability_difference",
        help: "|p_active - p_shadow| per record scored by both models.")
}

/// Histogram bucket upper bounds. The first is the Python consumer's and is a contract.
public enum MetricBuckets {
    /// `volatility_consumer_processing_seconds` (inherited).
    public static let processingSeconds: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]
    /// `volatility_consumer_prediction_probability`: 0.1 … 1.0 in steps of 0.1.
    public static let probability: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    /// `volatility_consumer_stage_seconds`: 1 µs … 1 s in 1-2.5-5 steps, so sub-10 µs stages resolve.
    public static let stageSeconds: [Double] = [
        0.000_001, 0.000_002_5, 0.000_005,
        0.000_01, 0.000_025, 0.000_05,
        0.000_1, 0.000_25, 0.000_5,
        0.001, 0.002_5, 0.005,
        0.01, 0.025, 0.05,
        0.1, 0.25, 0.5,
        1.0,
    ]
    /// `volatility_consumer_state_rebuild_seconds`: 10 ms … 5 min (a rebuild replays up to
    /// `STATE_REBUILD_MAX_RECORDS` per partition, well under a second each on a healthy broker).
    public static let stateRebuildSeconds: [Double] = [
        0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
    ]
    /// `volatility_consumer_shadow_probability_difference`: 0.001 … 1.
    public static let probabilityDifference: [Double] = [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0]
    /// `volatility_consumer_end_to_end_seconds`: 1 ms … 60 s, with a boundary at the latency SLO's 0.8 s
    /// (docs/SLO.md: the burn-rate alerts count deliveries above `le="0.8"`).
    public static let endToEndSeconds: [Double] = [
        0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1, 2.5, 5, 10, 30, 60,
    ]
}

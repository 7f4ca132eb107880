//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Testing

@testable import ConsumerMetrics

/// The update rule of each metric.
@Suite struct MetricUpdateTests {
    @Test func lagUsesTheKafkaRecordTimestampWhenPresent() {
        let metrics = makeMetrics()
        metrics.recordLag(recordTimestamp: 1_000.0, eventTime: 990.0, now: 1_002.5)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 2.5)
    }

    @Test func lagFallsBackToThePayloadEventTime() {
        let metrics = makeMetrics()
        metrics.recordLag(recordTimestamp: nil, eventTime: 990.0, now: 1_000.0)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 10)
    }

    @Test func lagWithoutAnyTimestampKeepsThePreviousValueAndNegativeLagIsZero() {
        let metrics = makeMetrics()
        metrics.recordLag(recordTimestamp: 995.0, eventTime: nil, now: 1_000.0)
        metrics.recordLag(recordTimestamp: nil, eventTime: nil, now: 2_000.0)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 5)
        metrics.recordLag(recordTimestamp: 1_001.0, eventTime: nil, now: 1_000.0)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 0)
    }

    @Test func markCaughtUpSetsLagToZero() {
        let metrics = makeMetrics()
        metrics.recordLag(recordTimestamp: 900.0, eventTime: nil, now: 1_000.0)
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 100)
        metrics.markCaughtUp()
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_lag_seconds"] == 0)
    }

    @Test func errorsSkipsAndDeadLettersCountPerLabel() {
        let metrics = makeMetrics()
        metrics.recordError(.parseError)
        metrics.recordError(.parseError)
        metrics.recordError(.commitError)
        metrics.recordSkip("no_price")
        metrics.recordSkip(.warmingUp)
        metrics.recordSkip("not_a_reason")  // ignored: label set stays bounded
        metrics.recordDeadLetterDelivered(.oversize)
        metrics.recordDeadLetterDelivered(.kafkaError)  // not a record error: ignored
        let s = Exposition(metrics.renderString()).samples
        #expect(s[#"volatility_consumer_errors_total{error_type="parse_error"}"#] == 2)
        #expect(s[#"volatility_consumer_errors_total{error_type="commit_error"}"#] == 1)
        #expect(s[#"volatility_consumer_errors_total{error_type="oversize"}"#] == 0)
        #expect(s[#"volatility_consumer_records_skipped_total{reason="no_price"}"#] == 1)
        #expect(s[#"volatility_consumer_records_skipped_total{reason="warming_up"}"#] == 1)
        #expect(s[#"volatility_consumer_dlq_records_total{error_type="oversize"}"#] == 1)
        #expect(s[#"volatility_consumer_dlq_records_total{error_type="kafka_error"}"#] == nil)
        #expect(!s.keys.contains { $0.contains("not_a_reason") })
    }

    @Test func deliveredPredictionsFeedCountersAndHistograms() {
        let metrics = makeMetrics()
        metrics.recordPredictionDelivered(prediction: 1, probability: 0.83, endToEndSeconds: 0.004)
        metrics.recordPredictionDelivered(prediction: 0, probability: 0.12, endToEndSeconds: nil)
        metrics.recordPredictionDelivered(prediction: 0, probability: 0.05, endToEndSeconds: 2)
        let s = Exposition(metrics.renderString()).samples
        #expect(s["volatility_consumer_predictions_made_total"] == 3)
        #expect(s[#"volatility_consumer_predictions_total{variant="baseline",prediction="1"}"#] == 1)
        #expect(s[#"volatility_consumer_predictions_total{variant="baseline",prediction="0"}"#] == 2)
        #expect(s[#"volatility_consumer_prediction_probability_bucket{le="0.1"}"#] == 1)
        #expect(s[#"volatility_consumer_prediction_probability_bucket{le="0.2"}"#] == 2)
        #expect(s[#"volatility_consumer_prediction_probability_bucket{le="0.9"}"#] == 3)
        #expect(s["volatility_consumer_prediction_probability_count"] == 3)
        #expect(s[#"volatility_consumer_end_to_end_seconds_bucket{le="0.005"}"#] == 1)
        // The latency SLO's boundary (docs/SLO.md, burn-rate rules select le="0.8").
        #expect(s[#"volatility_consumer_end_to_end_seconds_bucket{le="0.8"}"#] == 1)
        #expect(s[#"volatility_consumer_end_to_end_seconds_bucket{le="2.5"}"#] == 2)
        #expect(s["volatility_consumer_end_to_end_seconds_count"] == 2)
    }

    @Test func eachStageLandsInItsOwnSeries() {
        let metrics = makeMetrics()
        for (n, stage) in Stage.allCases.enumerated() {
            for _ in 0...n { metrics.recordStage(stage, seconds: 0.000_01) }
        }
        let s = Exposition(metrics.renderString()).samples
        for (n, stage) in Stage.allCases.enumerated() {
            #expect(s["volatility_consumer_stage_seconds_count{stage=\"\(stage.rawValue)\"}"] == Double(n + 1), "\(stage)")
        }
    }

    @Test func processingAndStageHistogramsUseTheirBuckets() {
        let metrics = makeMetrics()
        metrics.recordProcessingSeconds(0.003)
        metrics.recordStage(.decode, seconds: 0.000_002)
        metrics.recordStage(.produceAck, seconds: 0.02)
        metrics.recordStage(.predict, seconds: .nan)  // ignored
        let e = Exposition(metrics.renderString())
        let s = e.samples
        #expect(s[#"volatility_consumer_processing_seconds_bucket{le="0.001"}"#] == 0)
        #expect(s[#"volatility_consumer_processing_seconds_bucket{le="0.005"}"#] == 1)
        #expect(s[#"volatility_consumer_processing_seconds_bucket{le="+Inf"}"#] == 1)
        let processingBuckets = e.sampleOrder.filter { $0.hasPrefix("volatility_consumer_processing_seconds_bucket") }
        #expect(processingBuckets.count == MetricBuckets.processingSeconds.count + 1)
        #expect(s[#"volatility_consumer_stage_seconds_bucket{stage="decode",le="1e-06"}"#] == 0)
        #expect(s[#"volatility_consumer_stage_seconds_bucket{stage="decode",le="2.5e-06"}"#] == 1)
        #expect(s[#"volatility_consumer_stage_seconds_count{stage="produce_ack"}"#] == 1)
        #expect(s[#"volatility_consumer_stage_seconds_count{stage="predict"}"#] == 0)
        for stage in Stage.allCases {
            #expect(s[#"volatility_consumer_stage_seconds_count{stage="\#(stage.rawValue)"}"#] != nil)
        }
    }

    @Test func consumerStateGauges() {
        let metrics = makeMetrics()
        metrics.setAssignedPartitions(3)
        metrics.recordRebalance(.assign)
        metrics.recordRebalance(.lost)
        metrics.recordOffsetCommit(success: true)
        metrics.recordOffsetCommit(success: true)
        metrics.recordOffsetCommit(success: false)
        metrics.setInflight(17)
        metrics.setStateKeys(4)
        metrics.setModelLoaded(true)
        metrics.setReady(true)
        metrics.setHealthy(false)
        let s = Exposition(metrics.renderString()).samples
        #expect(s["volatility_consumer_assigned_partitions"] == 3)
        #expect(s[#"volatility_consumer_rebalances_total{kind="assign"}"#] == 1)
        #expect(s[#"volatility_consumer_rebalances_total{kind="revoke"}"#] == 0)
        #expect(s[#"volatility_consumer_rebalances_total{kind="lost"}"#] == 1)
        #expect(s[#"volatility_consumer_offset_commits_total{result="ok"}"#] == 2)
        #expect(s[#"volatility_consumer_offset_commits_total{result="error"}"#] == 1)
        #expect(s["volatility_consumer_inflight_records"] == 17)
        #expect(s["volatility_consumer_state_keys"] == 4)
        #expect(s["volatility_consumer_model_loaded"] == 1)
        #expect(s["volatility_consumer_ready"] == 1)
        #expect(s["volatility_consumer_health_status"] == 0)
    }

    @Test func modelInfoAndBuildInfoLabels() {
        let metrics = makeMetrics()
        var s = Exposition(metrics.renderString()).samples
        #expect(
            s[#"volatility_consumer_model_info{variant="baseline",version="2024-06-01",path="/models/baseline.json"}"#]
                == 1
        )
        #expect(s[#"volatility_consumer_build_info{version="1.2.3",revision="unknown",librdkafka="unknown",swift="\#(BuildEnvironment.swiftVersion)"}"#] == 1)

        metrics.setModelInfo(version: "2024-07-01", path: "/models/v2.json")
        s = Exposition(metrics.renderString()).samples
        #expect(s[#"volatility_consumer_model_info{variant="baseline",version="2024-07-01",path="/models/v2.json"}"#] == 1)
        #expect(s.keys.filter { $0.hasPrefix("volatility_consumer_model_info") }.count == 1)
    }

    @Test func processMetricsAreRefreshedAtScrapeTime() throws {
        let metrics = makeMetrics()
        let s = Exposition(metrics.renderString()).samples
        #if os(Linux)
        #expect((s["process_resident_memory_bytes"] ?? 0) > 0)
        #expect((s["process_virtual_memory_bytes"] ?? 0) > 0)
        #expect((s["process_open_fds"] ?? 0) > 0)
        #expect((s["process_max_fds"] ?? 0) > 0)
        #expect((s["process_start_time_seconds"] ?? 0) > 1_500_000_000)
        #expect(s["process_cpu_seconds_total"] != nil)
        #endif
    }

    @Test func statFieldsSurviveACommandNameWithSpacesAndParens() throws {
        let fields = try #require(ProcessStatistics.statFields("42 (we ird) (name) S 1 2 3"))
        #expect(fields.first == "S")
        #expect(fields.count == 4)
    }
}

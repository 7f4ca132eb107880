//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Testing

@testable import ConsumerMetrics

/// Shape of the whole exposition: help, types, and zero-initialised labelled series.
@Suite struct ExpositionTests {
    @Test func everyFamilyHasHelpAndType() {
        let metrics = makeMetrics()
        _ = metrics.applyConsumerStatistics(json: consumerStatisticsFixture)
        let e = Exposition(metrics.renderString())
        #expect(!e.samples.isEmpty)
        for key in e.samples.keys {
            let family = e.family(ofSample: key)
            #expect(e.help[family].map { !$0.isEmpty } == true, "missing # HELP for \(family)")
            #expect(e.type[family] != nil, "missing # TYPE for \(family)")
        }
        for family in MetricCatalog.all {
            #expect(e.type[family.name] != nil, "\(family.name) is not exported")
            #expect(e.help[family.name] == family.help)
        }
    }

    @Test func inheritedFamiliesKeepTheirTypes() {
        let e = Exposition(makeMetrics().renderString())
        #expect(e.type["volatility_consumer_messages_processed_total"] == "counter")
        #expect(e.type["volatility_consumer_predictions_made_total"] == "counter")
        #expect(e.type["volatility_consumer_errors_total"] == "counter")
        #expect(e.type["volatility_consumer_processing_seconds"] == "histogram")
        #expect(e.type["volatility_consumer_lag_seconds"] == "gauge")
        #expect(e.type["volatility_consumer_processing_rate"] == "gauge")
        #expect(e.type["volatility_consumer_stage_seconds"] == "histogram")
        #expect(e.type["volatility_consumer_end_to_end_seconds"] == "histogram")
        #expect(e.type["volatility_consumer_prediction_probability"] == "histogram")
        #expect(e.type["process_cpu_seconds_total"] == "counter")
    }

    @Test func labelledCountersStartAtZeroForEveryKnownValue() {
        let s = Exposition(makeMetrics().renderString()).samples
        for type in ErrorType.allCases {
            #expect(s[#"volatility_consumer_errors_total{error_type="\#(type.rawValue)"}"#] == 0)
        }
        for type in ErrorType.deadLetterTypes {
            #expect(s[#"volatility_consumer_dlq_records_total{error_type="\#(type.rawValue)"}"#] == 0)
        }
        // Bad input (4 types) and model_error (a non-finite score with no fallback).
        #expect(s.keys.filter { $0.hasPrefix("volatility_consumer_dlq_records_total") }.count == 5)
        for reason in ["no_price", "warming_up"] {
            #expect(s[#"volatility_consumer_records_skipped_total{reason="\#(reason)"}"#] == 0)
        }
        for kind in RebalanceKind.allCases {
            #expect(s[#"volatility_consumer_rebalances_total{kind="\#(kind.rawValue)"}"#] == 0)
        }
        for result in ["ok", "error"] {
            #expect(s[#"volatility_consumer_offset_commits_total{result="\#(result)"}"#] == 0)
        }
        for prediction in ["0", "1"] {
            #expect(s[#"volatility_consumer_predictions_total{variant="baseline",prediction="\#(prediction)"}"#] == 0)
        }
        #expect(s["volatility_consumer_messages_processed_total"] == 0)
        #expect(s["volatility_consumer_predictions_made_total"] == 0)
    }

    @Test func labelValuesAreEscaped() {
        let metrics = ConsumerMetrics(
            variant: "v\"1",
            modelVersion: "x\\y",
            modelPath: "/a\nb",
            buildVersion: "dev",
            clock: { 0 }
        )
        let text = metrics.renderString()
        #expect(text.contains(#"volatility_consumer_model_info{variant="v\"1",version="x\\y",path="/a\nb"} 1"#))
    }

    @Test func metricsAreSafeToUpdateFromManyThreadsWhileRendering() async {
        let metrics = makeMetrics()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<5_000 {
                        metrics.recordProcessed(at: 1_700_000_000 + Double(i) / 1_000)
                        metrics.recordStage(.decode, seconds: 0.000_01)
                        metrics.recordError(ErrorType.allCases[(i + worker) % ErrorType.allCases.count])
                    }
                }
            }
            group.addTask {
                for _ in 0..<20 { _ = metrics.render() }
            }
        }
        let s = Exposition(metrics.renderString()).samples
        #expect(s["volatility_consumer_messages_processed_total"] == 20_000)
        #expect(s[#"volatility_consumer_stage_seconds_count{stage="decode"}"#] == 20_000)
    }
}

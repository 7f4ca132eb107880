//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Testing

@testable import ConsumerMetrics

/// A consumer statistics document as librdkafka 2.x emits it (trimmed to a realistic subset):
/// partition -1 is the internal "unassigned" partition, and partition 2 is known but not
/// assigned to us (lag -1 = unknown).
let consumerStatisticsFixture = #"""
    {
      "name": "rdkafka#consumer-1", "client_id": "consumerd", "type": "consumer",
      "ts": 5132887421, "time": 1717243200, "age": 10000123, "replyq": 0,
      "msg_cnt": 12, "msg_size": 4096, "msg_max": 100000, "msg_size_max": 1073741824,
      "simple_cnt": 0, "metadata_cache_cnt": 1,
      "brokers": {
        "localhost:9092/1": { "name": "localhost:9092/1", "nodeid": 1, "state": "UP", "rtt": { "avg": 312, "p99": 900 } }
      },
      "topics": {
        "ticks.raw": {
          "topic": "ticks.raw", "age": 10000, "metadata_age": 4000,
          "batchsize": { "min": 0, "max": 0, "avg": 0 },
          "partitions": {
            "0": { "partition": 0, "broker": 1, "leader": 1, "desired": true, "unknown": false,
                   "msgq_cnt": 0, "fetchq_cnt": 120, "fetch_state": "active",
                   "committed_offset": 1500, "stored_offset": 1520, "hi_offset": 1562, "ls_offset": 1562,
                   "consumer_lag": 62, "consumer_lag_stored": 42, "txmsgs": 0, "rxmsgs": 1520 },
            "1": { "partition": 1, "broker": 1, "leader": 1, "desired": true,
                   "committed_offset": 900, "stored_offset": 900, "hi_offset": 900,
                   "consumer_lag": 0, "consumer_lag_stored": 0 },
            "2": { "partition": 2, "broker": 1, "leader": 1, "desired": false,
                   "committed_offset": -1001, "stored_offset": -1001, "hi_offset": 700,
                   "consumer_lag": -1, "consumer_lag_stored": -1 },
            "-1": { "partition": -1, "broker": -1, "leader": -1, "desired": false, "unknown": false,
                    "msgq_cnt": 0, "fetchq_cnt": 0, "committed_offset": -1001, "hi_offset": -1001,
                    "consumer_lag": -1, "consumer_lag_stored": -1 }
          }
        }
      },
      "cgrp": { "state": "up", "join_state": "steady", "rebalance_cnt": 1, "assignment_size": 2 }
    }
    """#

@Suite struct LibrdkafkaStatisticsTests {
    @Test func parsesStoredLagSkippingUnassignedAndUnknown() throws {
        let stats = try LibrdkafkaStatistics.parse(json: consumerStatisticsFixture)
        #expect(
            stats.partitionLags == [
                .init(topic: "ticks.raw", partition: 0, lag: 42),
                .init(topic: "ticks.raw", partition: 1, lag: 0),
            ]
        )
        #expect(stats.messageCount == 12)
    }

    @Test func lagRecordsSeriesFollowTheAssignment() {
        let metrics = makeMetrics()
        #expect(metrics.applyConsumerStatistics(json: consumerStatisticsFixture))
        var s = Exposition(metrics.renderString()).samples
        #expect(s[#"volatility_consumer_lag_records{topic="ticks.raw",partition="0"}"#] == 42)
        #expect(s[#"volatility_consumer_lag_records{topic="ticks.raw",partition="1"}"#] == 0)
        #expect(s[#"volatility_consumer_lag_records{topic="ticks.raw",partition="2"}"#] == nil)
        #expect(!s.keys.contains { $0.contains(#"partition="-1""#) })

        // Partition 0 is revoked: its series disappears, partition 1 updates.
        let afterRevoke = #"""
            {"type":"consumer","msg_cnt":0,"topics":{"ticks.raw":{"topic":"ticks.raw","partitions":{
              "1":{"partition":1,"consumer_lag_stored":7},
              "-1":{"partition":-1,"consumer_lag_stored":-1}}}}}
            """#
        #expect(metrics.applyConsumerStatistics(json: afterRevoke))
        s = Exposition(metrics.renderString()).samples
        #expect(s[#"volatility_consumer_lag_records{topic="ticks.raw",partition="0"}"#] == nil)
        #expect(s[#"volatility_consumer_lag_records{topic="ticks.raw",partition="1"}"#] == 7)

        // Everything revoked: no series left, and later re-assignment works again.
        #expect(metrics.applyConsumerStatistics(json: #"{"type":"consumer","topics":{}}"#))
        #expect(!metrics.renderString().contains("volatility_consumer_lag_records{"))
        #expect(metrics.applyConsumerStatistics(json: consumerStatisticsFixture))
        let e = Exposition(metrics.renderString())
        #expect(e.samples[#"volatility_consumer_lag_records{topic="ticks.raw",partition="0"}"#] == 42)
        #expect(e.help["volatility_consumer_lag_records"] != nil)
    }

    @Test func producerQueueFromMsgCnt() {
        let metrics = makeMetrics()
        let producer = #"{"name":"rdkafka#producer-2","type":"producer","msg_cnt":321,"msg_size":9000,"topics":{}}"#
        #expect(metrics.applyProducerStatistics(json: producer))
        #expect(Exposition(metrics.renderString()).samples["volatility_consumer_producer_queue_messages"] == 321)
    }

    @Test func malformedDocumentsLeaveMetricsUnchanged() {
        let metrics = makeMetrics()
        #expect(metrics.applyConsumerStatistics(json: consumerStatisticsFixture))
        #expect(!metrics.applyConsumerStatistics(json: "{not json"))
        #expect(!metrics.applyConsumerStatistics(json: "[1,2]"))
        #expect(!metrics.applyProducerStatistics(json: #"{"type":"producer"}"#))
        let s = Exposition(metrics.renderString()).samples
        #expect(s[#"volatility_consumer_lag_records{topic="ticks.raw",partition="0"}"#] == 42)
        #expect(throws: LibrdkafkaStatistics.ParseError.self) { try LibrdkafkaStatistics.parse(json: "") }
    }
}

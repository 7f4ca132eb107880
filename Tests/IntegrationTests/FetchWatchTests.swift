import Foundation
import StreamConsumer
import Synchronization
import Testing

/// The fetch watch on a real librdkafka consumer: a partition paused behind the engine's back — librdkafka's
/// pause flag out of step with the engine's view, which is what left a partition silent in one benchmark
/// catch-up (docs/PERFORMANCE.md, "Session 7") — is restarted, and every record is answered.
@Suite(.serialized) struct FetchWatchTests {
    /// Caught up, then paused behind the engine; more records arrive. They are never fetched — until the watch
    /// finds the partition silent at an end the log has grown past, and restarts it.
    @Test func partitionPausedBehindTheEngineIsRestartedAndEveryRecordAnswered() throws {
        // librdkafka applies a pause asynchronously; its debug line says when, and at which offset.
        let (cluster, scenario, producer) = try Self.onePartition([KafkaProperty(name: "debug", value: "topic", source: "test")])
        defer { withExtendedLifetime(cluster) {} }
        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let more = scenario.history..<(2 * scenario.history)
        let produced = Mutex<String?>(nil)
        try scenario.runProcessor(group: "fetch-watch", maxRecords: 1_000, handler: handler, observer: observer, configure: {
            $0.fetchStallSeconds = 2
            $0.fetchFault = .pauseBehindEngine(partition: 0)
        }) {
            // The fault's pause took effect at the end of the first batch: the second is not fetched any more.
            let paused = observer.state.withLock { $0.pauseLogs.contains { $0.contains("[0]: at offset \(scenario.history) ") } }
            if paused { Self.produceOnce(more, of: scenario, with: producer, into: produced) }
            return observer.state.withLock { $0.delivered >= more.upperBound }
        }
        #expect(produced.withLock { $0 } == "ok", "the fault was not injected, or the second batch not produced: \(observer.state.withLock { $0.pauseLogs })")
        let entries = scenario.logs.entries.withLock { $0 }
        #expect(entries.contains { $0.message == "fault injection: partition paused behind the engine" })
        let restarts = entries.filter { $0.message.hasPrefix("partition delivered nothing while it should have") }
        #expect(!restarts.isEmpty)
        #expect(restarts.first?.metadata["partition"] == "0")
        // Restarted at the next offset to handle: the first record of the second batch.
        #expect(restarts.first?.metadata["from_offset"] == "\(scenario.history)")
        #expect(observer.state.withLock { $0.fetchRestarts } == restarts.count)
        let seekFailures = entries.filter { $0.message.hasPrefix("fetch restart: seek") }
        #expect(seekFailures.isEmpty, "the restart's seek failed: \(seekFailures.map { "\($0.message) \($0.metadata)" })")
        let handled = handler.state.withLock { $0.handledOffsets }
        #expect(handled.count == more.upperBound, "every record handled once")
        #expect(Set(handled) == Set((0..<Int64(more.upperBound))))
    }

    /// A partition without a fetcher, as librdkafka 2.0.2 leaves a newly assigned partition whose fetch start a
    /// pause or resume outdated (its issue #2190; partition 63 of 64 in one benchmark catch-up, never fetched, every
    /// restart's seek failing with "Local: Erroneous state" for 17 minutes). Neither the restart's seek nor its
    /// resume can start one: the watch must see the seek fail so — or, as the same fault left it once on a loaded
    /// machine (CI, 2026-12-02: seeks succeeded, 60 restarts, nothing delivered), see three restarts bring
    /// nothing — and assign the partition again, and every record must then be handled exactly once — with eager
    /// assignment (the whole assignment goes through the rebalance path) and with cooperative (only that partition).
    @Test(arguments: ["range", "cooperative-sticky"])
    func partitionWithoutFetcherIsAssignedAgainAndEveryRecordAnswered(strategy: String) throws {
        let (cluster, scenario, producer) = try Self.onePartition([
            KafkaProperty(name: "partition.assignment.strategy", value: strategy, source: "test"),
        ])
        defer { withExtendedLifetime(cluster) {} }
        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let more = scenario.history..<(2 * scenario.history)
        let produced = Mutex<String?>(nil)
        try scenario.runProcessor(group: "fetch-watch-no-fetcher-\(strategy)", maxRecords: 1_000, handler: handler, observer: observer, configure: {
            $0.fetchStallSeconds = 2
            $0.fetchFault = .stopFetcherBehindEngine(partition: 0)
        }) {
            let stopped = scenario.logs.entries.withLock {
                $0.contains { $0.message == "fault injection: fetcher stopped behind the engine" && $0.metadata["confirmed"] == "true" }
            }
            if stopped { Self.produceOnce(more, of: scenario, with: producer, into: produced) }
            return handler.state.withLock { Set($0.handledOffsets).count } >= more.upperBound
        }
        #expect(produced.withLock { $0 } == "ok", "the fault was not injected, or the second batch not produced")
        let entries = scenario.logs.entries.withLock { $0 }
        // The evidence: a restart's seek failing so, or (what a loaded machine can make of the same fault: a fetcher
        // left detached, seeks succeed, nothing comes) restarts that bring nothing.
        let isRepair: (CapturedLogs.Entry) -> Bool = { $0.message == "partitions assigned again for a new fetcher" }
        let isFruitless: (CapturedLogs.Entry) -> Bool = { $0.message.hasPrefix("partitions stayed silent through their restarts") }
        let seekFailures = entries.filter { $0.message == "fetch restart: seek of one partition failed; the watch tries again" }
        let fruitless = entries.filter(isFruitless)
        #expect(
            seekFailures.first?.metadata["error"] == "Local: Erroneous state" || fruitless.first?.metadata["partitions"] == "[0]",
            "\(seekFailures.map(\.metadata)) \(fruitless.map(\.metadata))")
        print("partition without a fetcher (\(strategy)): \(seekFailures.count) seeks failed, \(fruitless.count) times silent through its restarts")
        let assignedAgain = entries.filter(isRepair)
        // A seek that failed so is proof at once: the repair must not have waited for three restarts.
        if seekFailures.first?.metadata["error"] == "Local: Erroneous state" {
            let repairIndex = entries.firstIndex(where: isRepair)
            let fruitlessIndex = entries.firstIndex(where: isFruitless)
            let inOrder = repairIndex.map { repair in fruitlessIndex.map { repair < $0 } ?? true } ?? false
            #expect(inOrder, "no repair after the failed seek, or only after the fruitless restarts: \(String(describing: repairIndex)) \(String(describing: fruitlessIndex))")
        }
        #expect(assignedAgain.first?.metadata["partitions"] == "[0]")
        let handled = handler.state.withLock { $0.handledOffsets }
        #expect(handled.count == more.upperBound, "every record handled once (\(handled.count) handled)")
        #expect(Set(handled) == Set((0..<Int64(more.upperBound))))
    }

    /// The same silent partition, before the watch's window has passed: its `lag_records` must count the records
    /// it was not given. librdkafka 2.0.2 refreshes its cached high watermark only from fetch responses, which a
    /// partition that stopped fetching does not get, so the lag read from that cache stayed at 0 — a "drained"
    /// check (nothing in flight, lag 0, counters still) then passed with a partition's records never handled, and
    /// an audit called them lost (CI, 2026-12-01: 7,480 inputs of two partitions after an outage).
    @Test func silentPartitionShowsItsLagBeforeTheWatchRestartsIt() throws {
        let (cluster, scenario, producer) = try Self.onePartition([KafkaProperty(name: "debug", value: "topic", source: "test")])
        defer { withExtendedLifetime(cluster) {} }
        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let more = scenario.history..<(2 * scenario.history)
        let processor = Mutex<StreamProcessor?>(nil)
        let produced = Mutex<String?>(nil)
        let lastLag = Mutex<Int64?>(nil)
        try scenario.runProcessor(group: "fetch-watch-lag", maxRecords: 1_000, handler: handler, observer: observer, timeoutSeconds: 60, configure: {
            // Far beyond the test: the partition stays silent, only the lag can tell.
            $0.fetchStallSeconds = 600
            $0.fetchFault = .pauseBehindEngine(partition: 0)
        }, created: { created in
            processor.withLock { $0 = created }
        }) {
            let paused = observer.state.withLock { $0.pauseLogs.contains { $0.contains("[0]: at offset \(scenario.history) ") } }
            if paused, produced.withLock({ $0 == nil }) {
                Self.produceOnce(more, of: scenario, with: producer, into: produced)
                return false
            }
            guard produced.withLock({ $0 }) == "ok", let current = processor.withLock({ $0 }) else { return false }
            let lag = current.currentPosition().partitions.first?.lagRecords
            lastLag.withLock { $0 = lag }
            return lag == Int64(more.count)
        }
        #expect(produced.withLock { $0 } == "ok", "the fault was not injected, or the second batch not produced")
        #expect(lastLag.withLock { $0 } == Int64(more.count), "lag_records of the silent partition: \(lastLag.withLock { $0 }.map(String.init) ?? "none")")
        #expect(handler.state.withLock { $0.handledOffsets.count } == scenario.history, "the partition was not silent")
        #expect(observer.state.withLock { $0.fetchRestarts } == 0)
    }

    /// Without the fault, a healthy catch-up followed by an idle stream (every partition at its end) is never
    /// restarted, however long it idles past the window.
    @Test func healthyIdlePartitionIsNeverRestarted() throws {
        let (cluster, scenario, _) = try Self.onePartition([])
        defer { withExtendedLifetime(cluster) {} }
        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let caughtUpAt = Mutex<Date?>(nil)
        try scenario.runProcessor(group: "fetch-watch-idle", maxRecords: 1_000, handler: handler, observer: observer, configure: {
            $0.fetchStallSeconds = 2
        }) {
            guard observer.state.withLock({ $0.delivered >= scenario.history && $0.caughtUp > 0 }) else { return false }
            let since = caughtUpAt.withLock { at -> Date in
                let first = at ?? Date()
                at = first
                return first
            }
            // Three windows idle at the end of the partition.
            return Date().timeIntervalSince(since) >= 6
        }
        #expect(observer.state.withLock { $0.fetchRestarts } == 0)
        #expect(handler.state.withLock { $0.handledOffsets.count } == scenario.history)
    }

    /// Produces `range` the first time it is called; `produced` then says "ok" or the error.
    private static func produceOnce(
        _ range: Range<Int>, of scenario: RebuildScenario, with producer: KafkaProducer, into produced: borrowing Mutex<String?>
    ) {
        guard produced.withLock({ $0 == nil }) else { return }
        let result: String
        do {
            try scenario.produce(range, with: producer)
            result = "ok"
        } catch {
            result = "\(error)"
        }
        produced.withLock { $0 = result }
    }

    /// A mock cluster with one input partition holding `history` (200) records, the scenario (its clients with
    /// `properties`) and a producer for more. The caller keeps the cluster alive for the test.
    private static func onePartition(_ properties: [KafkaProperty]) throws -> (MockCluster, RebuildScenario, KafkaProducer) {
        let cluster = try MockCluster(brokers: 1)
        var scenario = try RebuildScenario(cluster: cluster, inputPartitions: 1, outputPartitions: 1, history: 200)
        scenario.clientProperties = properties
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        try scenario.produce(0..<scenario.history, with: producer)
        return (cluster, scenario, producer)
    }
}

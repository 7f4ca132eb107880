import Foundation
import Logging
import StreamConsumer
import Synchronization
import Testing

/// A stateful handler whose state reaches 60 s of event time back; a record's value is its event time in
/// seconds (text). Counts warm-ups and resets, and publishes one output per handled record.
final class ReachingHandler: RecordHandler {
    struct State {
        var resets: [Set<Int32>] = []
        /// Warm-ups done when the first reset came (the reset must come before the replay).
        var warmUpsAtFirstReset: Int?
        var warmedOffsets: [Int64] = []
        var warmedEventTimes: [Double] = []
        var handledOffsets: [Int64] = []
        /// Warm-ups done when the first record was handled (the replay must be over by then).
        var warmUpsAtFirstHandle: Int?
    }

    let state = Mutex(State())
    let stateReachSeconds: Double?
    /// Time each warm-up takes (a slow replay, to observe the processor while it rebuilds).
    let warmUpDelayMicros: UInt32

    init(reachSeconds: Double? = 60, warmUpDelayMicros: UInt32 = 0) {
        stateReachSeconds = reachSeconds
        self.warmUpDelayMicros = warmUpDelayMicros
    }

    static func value(eventTime: Double) -> [UInt8] { Array(String(eventTime).utf8) }

    func eventTime(of record: ConsumedRecord) -> Double? {
        Double(String(decoding: record.value, as: UTF8.self))
    }

    func resetState(partitions: Set<Int32>) {
        state.withLock {
            if $0.warmUpsAtFirstReset == nil { $0.warmUpsAtFirstReset = $0.warmedOffsets.count }
            $0.resets.append(partitions)
        }
    }

    func warmUp(_ record: ConsumedRecord) {
        if warmUpDelayMicros > 0 { usleep(warmUpDelayMicros) }
        let time = eventTime(of: record) ?? .nan
        state.withLock {
            $0.warmedOffsets.append(record.offset)
            $0.warmedEventTimes.append(time)
        }
    }

    func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition {
        state.withLock {
            if $0.warmUpsAtFirstHandle == nil { $0.warmUpsAtFirstHandle = $0.warmedOffsets.count }
            $0.handledOffsets.append(record.offset)
        }
        output.removeAll(keepingCapacity: true)
        output.append(contentsOf: Array("out:\(record.partition):\(record.offset)".utf8))
        return .publish(key: "k", kind: .prediction(label: 1, probability: 0.5))
    }
}

final class RebuildObserver: StreamObserver {
    struct State {
        var delivered = 0
        var caughtUp = 0
        var commitsOK = 0
        var rebuilds: [(partition: Int32, records: Int, seconds: Double)] = []
        var fetchRestarts = 0
        /// librdkafka's PAUSE debug lines (with `debug=topic`): when a pause took effect, and where.
        var pauseLogs: [String] = []
    }

    let state = Mutex(State())

    func heartbeat() {}
    func delivered(_ delivery: Delivery) { state.withLock { $0.delivered += 1 } }
    func deliveryFailed(kind: OutputKind, error: String) {}
    func rebalanced(_ event: RebalanceEvent, assignedPartitions: Int) {}
    func offsetsCommitted(success: Bool, error: String?) { if success { state.withLock { $0.commitsOK += 1 } } }
    func kafkaError(_ message: String, fatal: Bool) {}
    func brokerReachability(_ reachable: Bool) {}
    func consumerStatistics(_ json: String) {}
    func producerStatistics(_ json: String) {}
    func caughtUp(_ summary: CatchUp) { state.withLock { $0.caughtUp += 1 } }
    func inflightChanged(_ count: Int) {}
    func backPressure(_ paused: Bool) {}
    func kafkaLog(level: Int32, facility: String, message: String) {
        if facility == "PAUSE" { state.withLock { $0.pauseLogs.append(message) } }
    }
    func stateRebuilt(partition: Int32, records: Int, seconds: Double) {
        state.withLock { $0.rebuilds.append((partition, records, seconds)) }
    }
    func fetchRestarted(partitions: Int) { state.withLock { $0.fetchRestarts += partitions } }
}

extension RebuildScenario {
    /// A scenario on `cluster`, whose three topics it creates (the dead-letter topic with one partition), with
    /// `history` records to produce.
    init(cluster: MockCluster, inputPartitions: Int, outputPartitions: Int, history: Int) throws {
        try cluster.createTopic(Self.topics.input, partitions: inputPartitions)
        try cluster.createTopic(Self.topics.output, partitions: outputPartitions)
        try cluster.createTopic(Self.topics.deadLetter, partitions: 1)
        self.init(bootstrap: cluster.bootstrapServers)
        self.history = history
    }
}

/// A rebuild scenario: `history` records produced to a one-partition topic (Kafka timestamps 1 s apart), all
/// processed and committed by a first processor; then `backlog` more; then a second processor in the same group
/// rebuilds the state before the committed offset and handles the backlog.
struct RebuildScenario {
    static let topics = StreamTopics(input: "rebuild.in", output: "rebuild.out", deadLetter: "rebuild.dlq")

    var bootstrap: String
    var clientProperties: [KafkaProperty] = []
    var history = 3_000
    var backlog = 100
    /// Epoch seconds of record 0's Kafka timestamp (whole seconds; the broker keeps milliseconds).
    var baseSeconds: Int64 = Int64(Date().timeIntervalSince1970) - 20_000
    /// Record `index`'s event time (epoch seconds) from its Kafka timestamp (epoch seconds).
    var eventTime: (_ index: Int, _ kafkaSeconds: Double) -> Double = { _, kafka in kafka }
    var maxRecords = 100_000
    /// What the processors logged.
    var logs = CapturedLogs()

    func kafkaTimestampMs(_ index: Int) -> Int64 { (baseSeconds + Int64(index)) * 1000 }

    func settings(group: String) -> KafkaSettings {
        KafkaSettings(
            groupId: group,
            commonProperties: clientProperties + [
                KafkaProperty(name: "session.timeout.ms", value: "6000", source: "test"),
                KafkaProperty(name: "heartbeat.interval.ms", value: "500", source: "test"),
            ]
        )
    }

    func produce(_ range: Range<Int>, with producer: KafkaProducer) throws {
        for index in range {
            let kafkaMs = kafkaTimestampMs(index)
            try producer.send(
                topic: Self.topics.input, key: "k",
                value: ReachingHandler.value(eventTime: eventTime(index, Double(kafkaMs) / 1000)), timestampMs: kafkaMs
            )
        }
        #expect(producer.flush(timeoutMs: 60_000) == 0, "records not delivered to the broker")
    }

    /// Runs a processor on its own thread until `until` holds (or `timeoutSeconds` pass), then stops it and
    /// waits for it to end.
    func runProcessor(
        group: String, maxRecords: Int, handler: ReachingHandler, observer: RebuildObserver,
        timeoutSeconds: Double = 120, configure: (inout StreamProcessorOptions) -> Void = { _ in },
        created: (StreamProcessor) -> Void = { _ in }, until: @escaping () -> Bool
    ) throws {
        var options = StreamProcessorOptions(topics: Self.topics, stateRebuildMaxRecords: maxRecords, stateRebuildTimeoutSeconds: 120)
        configure(&options)
        let processor = try StreamProcessor(
            settings: settings(group: group), bootstrapServers: bootstrap,
            options: options, handler: handler, observer: observer, logger: logs.logger
        )
        created(processor)
        let finished = Mutex(false)
        let thread = Thread {
            do { try processor.run() } catch { Issue.record("processor failed: \(error)") }
            finished.withLock { $0 = true }
        }
        thread.start()
        let satisfied = waitUntil(timeoutSeconds: timeoutSeconds, until)
        processor.requestStop()
        #expect(waitUntil(timeoutSeconds: 60) { finished.withLock { $0 } }, "the processor did not stop")
        #expect(satisfied, "condition not reached within \(timeoutSeconds) s")
    }

    /// The `start_by` of every "state rebuilt from the log" entry.
    var startedBy: [String?] {
        logs.entries.withLock { $0 }.filter { $0.message == "state rebuilt from the log" }.map { $0.metadata["start_by"] }
    }

    struct Outcome {
        var handler: ReachingHandler.State
        var observer: RebuildObserver.State
    }

    /// Produces the history, processes and commits it, produces the backlog, and runs the second processor until
    /// its rebuild finished and the backlog was delivered. Returns the second processor's view.
    func run(group: String, producer: KafkaProducer) throws -> Outcome {
        try produce(0..<history, with: producer)
        let first = ReachingHandler()
        let firstObserver = RebuildObserver()
        try runProcessor(group: group, maxRecords: maxRecords, handler: first, observer: firstObserver) {
            firstObserver.state.withLock { $0.delivered >= history && $0.caughtUp > 0 }
        }
        #expect(first.state.withLock { $0.handledOffsets.count } == history, "the first processor handled the history once")
        #expect(first.state.withLock { $0.warmedOffsets.isEmpty }, "nothing committed before: no rebuild")

        try produce(history..<(history + backlog), with: producer)
        let second = ReachingHandler()
        let secondObserver = RebuildObserver()
        try runProcessor(group: group, maxRecords: maxRecords, handler: second, observer: secondObserver) {
            secondObserver.state.withLock { !$0.rebuilds.isEmpty && $0.delivered >= backlog && $0.caughtUp > 0 }
        }
        let outcome = Outcome(handler: second.state.withLock { $0 }, observer: secondObserver.state.withLock { $0 })
        // Common to every case: the group resumed at the committed offset (the end of the history), the state
        // was reset before the replay, and the replay ended before any record was handled.
        #expect(outcome.handler.handledOffsets.first == Int64(history), "resumed at \(outcome.handler.handledOffsets.first ?? -1)")
        #expect(outcome.handler.handledOffsets.count == backlog)
        #expect(outcome.handler.warmUpsAtFirstReset == 0, "state reset before the replay")
        #expect(outcome.handler.resets.first == [0])
        #expect(outcome.handler.warmUpsAtFirstHandle == outcome.handler.warmedOffsets.count, "records handled during the rebuild")
        #expect(outcome.observer.rebuilds.count == 1)
        #expect(outcome.observer.rebuilds.first?.partition == 0)
        #expect(outcome.observer.rebuilds.first?.records == outcome.handler.warmedOffsets.count, "stateRebuilt reports the warm-ups")
        // The replay is a contiguous run of offsets ending just before the resume point.
        if let firstOffset = outcome.handler.warmedOffsets.first {
            #expect(outcome.handler.warmedOffsets == Array(firstOffset..<Int64(history)))
        }
        return outcome
    }
}

/// The state rebuild after an assignment starts by time on a broker that answers ListOffsets by timestamp
/// (noida-db): about `stateReachSeconds` + 5 s of records, not `stateRebuildMaxRecords`.
@Suite(.serialized, .enabled(if: NoidaBroker.executable != nil, "needs noida-db: export NOIDA_DB=$(scripts/ensure-noida)"))
struct TimeBasedRebuildTests {
    static let noidaProperties = [KafkaProperty(name: "receive.message.max.bytes", value: "2147483647", source: "test")]

    static func prepare(_ broker: NoidaBroker) throws -> KafkaProducer {
        let producer = try KafkaProducer(bootstrapServers: broker.bootstrap, properties: noidaProperties)
        for topic in [RebuildScenario.topics.input, RebuildScenario.topics.output, RebuildScenario.topics.deadLetter] {
            let created = waitUntil(timeoutSeconds: 30) { ((try? producer.requestMetadata(topic: topic)) ?? 0) == 1 }
            if !created { throw TestFailure("noida-db did not create \(topic) with one partition") }
        }
        return producer
    }

    /// Event time = Kafka timestamp, 1 s apart: the time look-up finds the record 65 s before the last one and
    /// the first replayed record is old enough.
    @Test func rebuildStartsByTimeAboutTheReachBeforeTheResumePoint() throws {
        let broker = try NoidaBroker()
        defer { broker.terminateNow() }
        let producer = try Self.prepare(broker)
        let scenario = RebuildScenario(bootstrap: broker.bootstrap, clientProperties: Self.noidaProperties)
        let outcome = try scenario.run(group: "rebuild-by-time", producer: producer)

        let warmed = outcome.handler.warmedOffsets.count
        let first = outcome.handler.warmedEventTimes.first ?? .nan
        let last = outcome.handler.warmedEventTimes.last ?? .nan
        let seconds = outcome.observer.rebuilds.first?.seconds ?? -1
        print("rebuild by time on noida-db: \(warmed) of \(scenario.history) records warmed up (offsets \(outcome.handler.warmedOffsets.first ?? -1)..<\(scenario.history)), event time covered \(last - first) s, in \(String(format: "%.3f", seconds)) s; maxRecords \(scenario.maxRecords)")
        // 60 s reach + 5 s margin at one record a second, plus the record at the boundary: 66.
        #expect((64...68).contains(warmed), "warmed \(warmed) records, expected about 66")
        #expect(first <= last - 60, "first warmed event time \(first) is not 60 s before the last \(last)")
        #expect(last == Double(scenario.baseSeconds + Int64(scenario.history - 1)))
        #expect(scenario.startedBy == ["time"])
    }

    /// `stateRebuildMaxRecords` caps a start by time too: bounded work after every assignment.
    @Test func maxRecordsCapsAStartByTime() throws {
        let broker = try NoidaBroker()
        defer { broker.terminateNow() }
        let producer = try Self.prepare(broker)
        var scenario = RebuildScenario(bootstrap: broker.bootstrap, clientProperties: Self.noidaProperties)
        scenario.maxRecords = 40
        let outcome = try scenario.run(group: "rebuild-capped", producer: producer)
        print("rebuild by time capped at \(scenario.maxRecords) records on noida-db: \(outcome.handler.warmedOffsets.count) warmed up (offsets \(outcome.handler.warmedOffsets.first ?? -1)..<\(scenario.history))")
        #expect(outcome.handler.warmedOffsets.count == 40)
        #expect(outcome.handler.warmedOffsets.first == Int64(scenario.history - 40))
        #expect(scenario.startedBy == ["time"])
    }

    /// Event time falls behind the Kafka timestamp by 0.5 s with every record (a feed replayed at half speed):
    /// the 65 s of Kafka time found by the look-up hold only 32.5 s of event time, so the first replayed record
    /// is too new and the rebuild must step back until it covers the reach.
    @Test func rebuildStepsBackWhenTheFirstReplayedRecordIsTooNew() throws {
        let broker = try NoidaBroker()
        defer { broker.terminateNow() }
        let producer = try Self.prepare(broker)
        var scenario = RebuildScenario(bootstrap: broker.bootstrap, clientProperties: Self.noidaProperties)
        let base = Double(scenario.baseSeconds)
        scenario.eventTime = { index, _ in base + 0.5 * Double(index) }
        let outcome = try scenario.run(group: "rebuild-step-back", producer: producer)

        let warmed = outcome.handler.warmedOffsets.count
        let first = outcome.handler.warmedEventTimes.first ?? .nan
        let last = outcome.handler.warmedEventTimes.last ?? .nan
        print("rebuild by time with a step back on noida-db: \(warmed) records warmed up (offsets \(outcome.handler.warmedOffsets.first ?? -1)..<\(scenario.history)), event time covered \(last - first) s, in \(String(format: "%.3f", outcome.observer.rebuilds.first?.seconds ?? -1)) s")
        #expect(last - first >= 60, "the rebuild covers only \(last - first) s of event time")
        #expect(warmed > 68, "no step back: \(warmed) records, the time look-up alone gives about 66")
        #expect(warmed < scenario.history, "stepped back to the floor instead of by a bounded amount")
        #expect(last == base + 0.5 * Double(scenario.history - 1))
        #expect(scenario.startedBy == ["time"])
    }
}

/// librdkafka 2.0.2's mock cluster cannot look offsets up by time (it answers offset -1, "no record that new",
/// even for timestamps its records have): the rebuild falls back to the record count, exactly
/// `stateRebuildMaxRecords` records before the resume point, and says so (`start_by=record_count`).
@Suite(.serialized) struct RecordCountRebuildFallbackTests {
    @Test func withoutATimeLookUpTheRebuildReachesBackMaxRecords() throws {
        let cluster = try MockCluster(brokers: 1)
        for topic in [RebuildScenario.topics.input, RebuildScenario.topics.output, RebuildScenario.topics.deadLetter] {
            try cluster.createTopic(topic, partitions: 1)
        }
        // The premise: this broker cannot look offsets up by time.
        let reader = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: RebuildScenario.topics.input)
        var scenario = RebuildScenario(bootstrap: cluster.bootstrapServers)
        scenario.maxRecords = 500
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        let outcome = try scenario.run(group: "rebuild-by-count", producer: producer)
        // The premise: this broker cannot look offsets up by time. Measured with librdkafka 2.0.2: the mock does
        // not fail the request, it answers offset -1 ("no record that new") for a timestamp record 2000 has.
        let answer = Result { () throws(KafkaError) in
            try reader.offset(partition: 0, atOrAfterTimestampMs: scenario.kafkaTimestampMs(2_000), timeoutMs: 10_000)
        }
        print("time look-up on the mock cluster for record 2000's timestamp: \(answer)")
        if case .success(let offset?) = answer { Issue.record("the mock answered a time look-up (\(offset)): the fallback is not exercised") }

        let warmed = outcome.handler.warmedOffsets.count
        let first = outcome.handler.warmedEventTimes.first ?? .nan
        let last = outcome.handler.warmedEventTimes.last ?? .nan
        print("rebuild by record count on the mock cluster: \(warmed) records warmed up (offsets \(outcome.handler.warmedOffsets.first ?? -1)..<\(scenario.history)), event time covered \(last - first) s, in \(String(format: "%.3f", outcome.observer.rebuilds.first?.seconds ?? -1)) s; maxRecords \(scenario.maxRecords)")
        #expect(warmed == 500)
        #expect(outcome.handler.warmedOffsets.first == Int64(scenario.history - 500))
        #expect(outcome.observer.rebuilds.first?.records == 500)
        #expect(scenario.startedBy == ["record_count"], "the rebuild reports how it started: \(scenario.startedBy)")
    }
}

/// Keeps every log entry of the processors under test (message and metadata as text).
final class CapturedLogs: Sendable {
    struct Entry: Sendable {
        var message: String
        var metadata: [String: String]
    }

    let entries = Mutex<[Entry]>([])

    var logger: Logger {
        Logger(label: "rebuild-test") { _ in Handler(logs: self) }
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            logs.entries.withLock { $0.append(Entry(message: "\(event.message)", metadata: merged.mapValues { "\($0)" })) }
        }
    }
}

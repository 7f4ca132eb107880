// Benchmark A: the ceiling. consumerd's own engine (StreamConsumer.StreamProcessor: group consumer, idempotent
// acks=all producer, offsets stored from delivery reports, auto-commit) with a handler that copies the input
// bytes to the output unchanged — no decoding, no features, no model.
//
//   Passthrough --bootstrap-servers HOST:PORT --expect N [--group G] [--input T] [--output T] [--timeout S]
//
// Properties come from the same environment variables as consumerd (KAFKA_CONF_*, KAFKA_CONSUMER_CONF_*,
// KAFKA_PRODUCER_CONF_*, KAFKA_AUTO_OFFSET_RESET, ..., and PROCESSING_THREADS), so A and B run with identical
// client settings.
// Prints one line: `PASSTHROUGH records=N seconds=S rate=R cpu_seconds=C max_rss_kib=K` (the engine's catch-up
// summary: first handled record to last delivery report, the figure consumerd logs as "caught up") and exits.

import Foundation
import Logging
import StreamConsumer
import Synchronization

func argument(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

guard let bootstrap = argument("--bootstrap-servers"), let expected = argument("--expect").flatMap(Int.init) else {
    FileHandle.standardError.write(Data("usage: Passthrough --bootstrap-servers B --expect N [--group G] [--input T] [--output T] [--timeout S]\n".utf8))
    exit(2)
}
let group = argument("--group") ?? "bench-passthrough-\(UInt32.random(in: 0...UInt32.max))"
let inputTopic = argument("--input") ?? "ticks.features"
let outputTopic = argument("--output") ?? "bench.passthrough"
let timeoutSeconds = argument("--timeout").flatMap(Double.init) ?? 300

/// Copies every input to the output buffer.
final class CopyHandler: RecordHandler {
    func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition {
        output.removeAll(keepingCapacity: true)
        output.append(contentsOf: record.value)
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return .publish(key: key, kind: .prediction(label: 0, probability: 0))
    }
}

/// Counts delivery reports; stops the processor once it has caught up with all expected records.
final class CountingObserver: StreamObserver, @unchecked Sendable {
    let expected: Int
    var delivered = 0
    var failed = 0
    var catchUp: CatchUp?
    weak var processor: StreamProcessor?

    init(expected: Int) { self.expected = expected }

    func heartbeat() {}
    func delivered(_ delivery: Delivery) { delivered += 1 }
    func deliveryFailed(kind: OutputKind, error: String) { failed += 1 }
    func rebalanced(_ event: RebalanceEvent, assignedPartitions: Int) {}
    func offsetsCommitted(success: Bool, error: String?) {}
    func kafkaError(_ message: String, fatal: Bool) {
        FileHandle.standardError.write(Data("kafka error: \(message)\n".utf8))
    }
    func brokerReachability(_ reachable: Bool) {}
    func consumerStatistics(_ json: String) {}
    func producerStatistics(_ json: String) {}
    /// The engine's own first-poll-to-last-delivery figure, the same one consumerd logs as "caught up".
    func caughtUp(_ summary: CatchUp) {
        catchUp = summary
        if summary.records >= expected { processor?.requestStop() }
    }
    func inflightChanged(_ count: Int) {}
    func backPressure(_ paused: Bool) {}
    func kafkaLog(level: Int32, facility: String, message: String) {}
}

var environment = ProcessInfo.processInfo.environment
environment["KAFKA_GROUP_ID"] = group
if environment["KAFKA_AUTO_OFFSET_RESET"] == nil { environment["KAFKA_AUTO_OFFSET_RESET"] = "earliest" }
let settings = try KafkaSettings.fromEnvironment(environment)
var logger = Logger(label: "passthrough")
logger.logLevel = .warning
let handler = CopyHandler()
let observer = CountingObserver(expected: expected)
var options = StreamProcessorOptions(
    topics: StreamTopics(input: inputTopic, output: outputTopic, deadLetter: outputTopic + ".dlq"))
// As consumerd reads it: 2 (default) runs the handler on a thread of its own, 1 on the processing thread.
options.handlerThread = environment["PROCESSING_THREADS"] != "1"
let processor = try StreamProcessor(
    settings: settings,
    bootstrapServers: bootstrap,
    options: options,
    handler: handler,
    observer: observer,
    logger: logger
)
observer.processor = processor
let started = monotonicNanos()
let finished = Atomic<Bool>(false)
let watchdog = Thread {
    while monotonicNanos() - started < UInt64(timeoutSeconds * 1e9) {
        Thread.sleep(forTimeInterval: 0.2)
        if finished.load(ordering: .acquiring) { return }
    }
    FileHandle.standardError.write(Data("timeout after \(timeoutSeconds) s\n".utf8))
    processor.requestStop()
}
watchdog.start()
try processor.run()
finished.store(true, ordering: .releasing)
var ru = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru)
guard let catchUp = observer.catchUp, catchUp.records >= expected else {
    print("PASSTHROUGH records=\(observer.delivered) expected=\(expected) failed=\(observer.failed) INCOMPLETE")
    exit(1)
}
// The same figures consumerd logs as "caught up": first handled record to last delivery report, and the
// process's CPU over that stretch.
print(String(
    format: "PASSTHROUGH records=%d seconds=%.3f rate=%.0f cpu_seconds=%.2f max_rss_kib=%d",
    catchUp.records, catchUp.seconds, catchUp.recordsPerSecond, catchUp.cpuSeconds, ru.ru_maxrss))

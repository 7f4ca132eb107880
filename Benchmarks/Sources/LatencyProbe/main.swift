// End-to-end latency probe: reads the prediction topic and records, per prediction, in HdrHistograms (µs):
//
//   ack:     output record's Kafka timestamp (CreateTime, set when consumerd handed it to the producer)
//            − the prediction's `event_time`
//   arrival: the wall clock when this probe received the prediction − `event_time` (an upper bound: it adds the
//            probe's own fetch delay; the delivery report lies between the two)
//
// `event_time` equals the input's send time when the input was produced by `consumerd replay` WITHOUT
// --keep-timestamps (replay writes the send time into the record's `ts` and the Kafka CreateTime ≈ the same
// instant), so both figures measure "input produced → prediction produced/received".
//
//   LatencyProbe --bootstrap-servers B [--topic ticks.predictions] [--seconds 20] [--skip-seconds 3]
//                [--expect N]
// Prints `LATENCY kind=ack count=… p50_ms=… p99_ms=… p999_ms=… max_ms=…` and the same for `arrival`.

import Foundation
import Histogram
import StreamConsumer

func argument(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

func wallSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The number after `"event_time":` in a prediction.
func eventTime(_ value: [UInt8]) -> Double? {
    let needle = Array("\"event_time\":".utf8)
    guard value.count > needle.count else { return nil }
    var i = 0
    outer: while i + needle.count <= value.count {
        for j in 0..<needle.count where value[i + j] != needle[j] {
            i += 1
            continue outer
        }
        var end = i + needle.count
        while end < value.count, value[end] != UInt8(ascii: ","), value[end] != UInt8(ascii: "}") { end += 1 }
        return Double(String(decoding: value[(i + needle.count)..<end], as: UTF8.self))
    }
    return nil
}

guard let bootstrap = argument("--bootstrap-servers") else {
    FileHandle.standardError.write(Data("usage: LatencyProbe --bootstrap-servers B [--topic T] [--seconds S] [--skip-seconds S] [--expect N]\n".utf8))
    exit(2)
}
let topic = argument("--topic") ?? "ticks.predictions"
let seconds = argument("--seconds").flatMap(Double.init) ?? 20
let skipSeconds = argument("--skip-seconds").flatMap(Double.init) ?? 3
let expected = argument("--expect").flatMap(Int.init)

// KAFKA_CONF_* / KAFKA_CONSUMER_CONF_* overrides, as consumerd reads them (e.g. what a broker other than the mock
// needs).
let environmentSettings = try KafkaSettings.fromEnvironment(ProcessInfo.processInfo.environment)
let reader = try TopicReader(
    bootstrapServers: bootstrap, topic: topic,
    properties: [
        KafkaProperty(name: "fetch.wait.max.ms", value: "1", source: "probe"),
        KafkaProperty(name: "fetch.error.backoff.ms", value: "10", source: "probe"),
    ] + environmentSettings.commonProperties + environmentSettings.consumerProperties)
// The topic may not exist yet when the probe starts before the daemon's first output.
var startError: Error?
for _ in 0..<100 {
    do {
        try reader.start()
        startError = nil
        break
    } catch {
        startError = error
        Thread.sleep(forTimeInterval: 0.2)
    }
}
if let startError { throw startError }

var ack = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
var arrival = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
var seen = 0
var firstSeen: Double?
let started = wallSeconds()
while wallSeconds() - started < seconds {
    for record in reader.poll(timeoutMs: 50, maxRecords: 100_000) {
        let now = wallSeconds()
        seen += 1
        if firstSeen == nil { firstSeen = now }
        // Records without `event_time` (e.g. the input topic itself) are timed from their Kafka CreateTime: the
        // arrival figure is then "produced → received by this probe", the broker-and-fetch leg alone.
        let fallback: Double? = record.timestampMs >= 0 ? Double(record.timestampMs) / 1000 : nil
        guard let t = eventTime(record.value) ?? fallback, now - firstSeen! >= skipSeconds else { continue }
        arrival.record(UInt64(max(0, now - t) * 1e6))
        if record.timestampMs >= 0 {
            ack.record(UInt64(max(0, Double(record.timestampMs) / 1000 - t) * 1e6))
        }
    }
    if let expected, seen >= expected { break }
}

func report(_ name: String, _ h: Histogram<UInt64>) {
    func ms(_ v: UInt64) -> String { String(format: "%.3f", Double(v) / 1000) }
    print(
        "LATENCY kind=\(name) count=\(h.totalCount) p50_ms=\(ms(h.valueAtPercentile(50))) "
            + "p99_ms=\(ms(h.valueAtPercentile(99))) p999_ms=\(ms(h.valueAtPercentile(99.9))) max_ms=\(ms(h.max))")
}
report("ack", ack)
report("arrival", arrival)
print("PROBE seen=\(seen)")

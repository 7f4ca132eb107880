import Foundation
import Logging
import Testing

@testable import consumerd

/// The JSON log line format and the rate limit on repeated warnings, in-process (the daemon-level checks are in
/// SecurityAndLoggingTests).
@Suite struct LogFormatTests {
    static func parse(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1, "not one line: \(line)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func fixedFieldsComeFirstAndMetadataKeepsItsType() throws {
        let line = JSONLogHandler.line(
            time: (1_796_008_311, 7), level: .warning, message: "Kafka \"client\" error", label: "consumerd",
            metadata: [
                "records": .stringConvertible(2827), "seconds": .stringConvertible(0.25), "paused": .stringConvertible(true),
                "partitions": .array([.stringConvertible(0), .stringConvertible(3)]), "topic": "ticks.features",
                "nested": .dictionary(["n": .stringConvertible(-1)]), "port": "8001",
            ])
        #expect(line.hasPrefix(#"{"time":"2026-11-30T03:11:51.000007Z","level":"warning","msg":"Kafka \"client\" error","logger":"consumerd","#))
        let object = try Self.parse(line)
        #expect(object["records"] as? Int == 2827)
        #expect(object["seconds"] as? Double == 0.25)
        #expect(object["paused"] as? Bool == true)
        #expect(object["partitions"] as? [Int] == [0, 3])
        #expect((object["nested"] as? [String: Any])?["n"] as? Int == -1)
        #expect(object["topic"] as? String == "ticks.features")
        #expect(object["port"] as? String == "8001", "a string stays a string")
    }

    @Test func clashingKeysAreKeptUnderAPrefix() throws {
        let line = JSONLogHandler.line(
            time: (0, 0), level: .info, message: "m", label: "consumerd",
            metadata: ["time": "mine", "level": "x", "msg": "y", "logger": "z", "meta.time": "already"])
        let object = try Self.parse(line)
        #expect(object["time"] as? String == "1970-01-01T00:00:00.000000Z")
        #expect(object["level"] as? String == "info" && object["msg"] as? String == "m" && object["logger"] as? String == "consumerd")
        #expect(object["meta.time"] as? String == "already")
        #expect(object["meta.meta.time"] as? String == "mine")
        #expect(object["meta.level"] as? String == "x" && object["meta.msg"] as? String == "y" && object["meta.logger"] as? String == "z")
    }

    @Test func controlCharactersAreEscaped() throws {
        let object = try Self.parse(JSONLogHandler.line(
            time: (0, 0), level: .error, message: "a\u{0}b\u{7F}\t", label: "l", metadata: [:]))
        #expect(object["msg"] as? String == "a\u{0}b\u{7F}\t")
    }

    @Test func repeatedWarningsAreLimitedPerLineAndInTotal() {
        var limit = LogRateLimit(windowSeconds: 60, perKeyLimit: 3, totalLimit: 20)
        var emitted = 0
        var reported = 0
        // One identical warning (digits vary) every 100 ms for 60 s: 3 lines.
        for tick in 0..<600 {
            let decision = limit.admit(label: "c", level: .warning, message: "connect failed after \(tick % 50)ms", now: Double(tick) / 10)
            if case .emit(let suppressed) = decision { emitted += 1; reported += suppressed }
        }
        #expect(emitted == 3)
        // The next one after the window carries the count of what was dropped.
        let next = limit.admit(label: "c", level: .warning, message: "connect failed after 1ms", now: 60.5)
        #expect(next == .emit(suppressed: 597))
        // Ten different warnings repeating: 20 per sliding minute in total, whatever the split.
        var total = LogRateLimit(windowSeconds: 60, perKeyLimit: 3, totalLimit: 20)
        var times: [Double] = []
        for tick in 0..<1200 {
            let now = Double(tick) / 10
            if case .emit = total.admit(label: "c", level: .error, message: "problem \(Character(UnicodeScalar(65 + tick % 10)!))", now: now) {
                times.append(now)
            }
        }
        for start in times { #expect(times.filter { $0 >= start && $0 < start + 60 }.count <= 20) }
        #expect(times.count >= 20)
        // A new kind of warning is never starved by the budget.
        var busy = LogRateLimit(windowSeconds: 60, perKeyLimit: 3, totalLimit: 20)
        for tick in 0..<200 { _ = busy.admit(label: "c", level: .warning, message: "error \(Character(UnicodeScalar(65 + tick % 10)!))", now: Double(tick) / 100) }
        #expect(busy.admit(label: "c", level: .warning, message: "fetching paused: outputs are backing up", now: 2.5) == .emit(suppressed: 0))
        // Info lines and critical lines are never limited.
        var other = LogRateLimit()
        for tick in 0..<100 {
            #expect(other.admit(label: "c", level: .info, message: "state rebuilt from the log", now: Double(tick)) == .emit(suppressed: 0))
            #expect(other.admit(label: "c", level: .critical, message: "fatal", now: Double(tick)) == .emit(suppressed: 0))
        }
    }

    @Test func droppedLinesNeverReportedElsewhereGetASummary() {
        var limit = LogRateLimit(windowSeconds: 60, perKeyLimit: 3, totalLimit: 20)
        for tick in 0..<10 { _ = limit.admit(label: "c", level: .error, message: "down \(tick)", now: Double(tick) / 10) }
        #expect(limit.dueSummaries(now: 30).isEmpty, "the window is still full")
        #expect(limit.dueSummaries(now: 61) == [LogRateLimit.Summary(label: "c", level: .error, message: "down 9", suppressed: 7)])
        #expect(limit.dueSummaries(now: 62).isEmpty)
    }

    @Test func helpTableFitsEightyColumns() {
        let text = HelpText.variables(intro: "Variables:")
        for line in text.split(separator: "\n") { #expect(line.count <= 78, "too wide: \(line)") }
        for variable in DaemonConfiguration.documentedVariables {
            #expect(text.contains("\n  \(variable.name) [default:"), "\(variable.name) is not at the start of a line")
        }
        #expect(HelpText.wrap("word " + String(repeating: "x", count: 100), indent: 6, hanging: 6).count == 2)
    }

    @Test func bootstrapCredentialsAreRedacted() {
        #expect(Banner.redactedBootstrap("SASL_SSL://user:pw@b1:9093,b2:9093") == "SASL_SSL://[REDACTED]@b1:9093,b2:9093")
        #expect(Banner.redactedBootstrap("b1:9092") == "b1:9092")
    }
}

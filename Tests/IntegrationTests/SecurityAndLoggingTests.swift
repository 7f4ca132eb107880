import Foundation
import Testing

@Suite(.serialized) struct SecurityAndLoggingTests {
    /// Every stderr line of a JSON-logging daemon, parsed with Foundation's strict parser.
    static func jsonLines(_ stderr: String) -> [(line: String, object: [String: Any]?)] {
        stderr.split(separator: "\n").map { line in
            (String(line), (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])
        }
    }

    static let rfc3339Micros = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"#

    /// Passwords passed to librdkafka (directly or from a `_FILE`) never reach logs or metrics; JSON logs are one
    /// strict JSON object per line with typed fields.
    @Test func secretsAreRedactedAndJSONLogsParse() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        let secret = "hunter2-\(UUID().uuidString)"
        let fileSecret = "from-file-\(UUID().uuidString)"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("operator-secret-\(UUID().uuidString)")
        try Data((fileSecret + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: [
            "KAFKA_CONF_SASL_USERNAME": "consumerd",
            "KAFKA_CONF_SASL_PASSWORD_FILE": file.path,
            "KAFKA_PRODUCER_CONF_SSL_KEY_PASSWORD": secret,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "debug",
        ]))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 })
        let exposition = httpGet("http://\(metrics)/metrics")?.body ?? ""
        let status = httpGet("http://\(metrics)/status")?.body ?? ""
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)

        let logs = daemon.stderr
        for value in [secret, fileSecret] {
            #expect(!logs.contains(value), "a secret was logged")
            #expect(!exposition.contains(value) && !status.contains(value), "a secret is in the metrics or the status")
        }
        #expect(logs.contains("sasl.password=[REDACTED]"), "the banner does not show the redacted property")
        let lines = Self.jsonLines(logs)
        #expect(lines.count >= 5)
        for (line, object) in lines {
            let object = try #require(object, "not a JSON object: \(line)")
            #expect(object["msg"] is String && object["level"] is String && object["logger"] is String, "\(line)")
            let time = try #require(object["time"] as? String, "\(line)")
            #expect(time.range(of: Self.rfc3339Micros, options: .regularExpression) != nil, "\(time)")
        }
        // The banner names what runs, with typed values.
        let banner = try #require(lines.compactMap(\.object).first { ($0["msg"] as? String)?.hasPrefix("consumerd starting") == true })
        #expect(banner["mode"] as? String == "run")
        #expect(banner["bootstrap"] as? String == cluster.bootstrap)
        #expect(banner["max_record_bytes"] as? Int == 900_000)
        #expect((banner["topics"] as? [String: String])?["input"] == "ticks.features")
        #expect(banner["kafka_overrides"] is [String])
        for key in ["version", "revision", "librdkafka", "variant", "model_version", "group_id"] {
            #expect(banner[key] is String, "banner lacks \(key)")
        }
    }

    /// A 60 s outage of all three brokers: librdkafka reports the same failures for each, again and again (its
    /// own "identical error(s) suppressed" is per broker and not enough); the log stays at most 20 lines for the
    /// minute, and says how many it left out.
    @Test func aBrokerOutageWritesAtMostTwentyLinesAMinute() throws {
        let outageSeconds = Double(ProcessInfo.processInfo.environment["OUTAGE_LOG_SECONDS"] ?? "") ?? 60
        let cluster = try MockClusterProcess(partitions: 3, brokers: 3)
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: [
            "LOG_FORMAT": "json",
        ]))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 }, "never ready: \(daemon.stderr.suffix(2000))")
        let before = daemon.stderr.count
        for broker in 1...3 { #expect(cluster.command("down \(broker)") == "ok") }
        let downAt = Date()
        // The outage itself lasts a fixed time (that is the scenario); the verdict is on what was written.
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 503 }, "the daemon never noticed the outage")
        _ = waitUntil(timeoutSeconds: max(0, outageSeconds - Date().timeIntervalSince(downAt))) { false }
        let during = String(daemon.stderr.dropFirst(before))
        for broker in 1...3 { #expect(cluster.command("up \(broker)") == "ok") }
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 }, "never ready again")
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 15) == 0)

        let lines = Self.jsonLines(during)
        print("broker outage of \(Int(outageSeconds)) s: \(lines.count) log lines")
        for (line, _) in lines { print("  outage log: \(line.prefix(240))") }
        #expect(lines.allSatisfy { $0.object != nil }, "a line is not JSON")
        #expect(lines.count <= 20 * Int((outageSeconds / 60).rounded(.up)), "\(lines.map(\.line).joined(separator: "\n"))")
        #expect(!lines.isEmpty, "the outage was not logged at all")
        // Counted over the whole run: what was dropped during the outage is reported by the next line of its kind.
        let suppressed = Self.jsonLines(daemon.stderr).compactMap { $0.object?["suppressed"] as? Int }.reduce(0, +)
        #expect(suppressed > 0, "nothing was rate-limited, so the limit was not exercised: \(lines.map(\.line).joined(separator: "\n"))")
    }
}

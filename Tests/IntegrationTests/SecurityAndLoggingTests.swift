import Foundation
import Testing

@Suite(.serialized) struct SecurityAndLoggingTests {
    /// Passwords passed to librdkafka never reach logs or metrics; JSON logs are one object per line.
    @Test func secretsAreRedactedAndJSONLogsParse() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        let secret = "hunter2-\(UUID().uuidString)"
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: [
            "KAFKA_CONF_SASL_USERNAME": "consumerd",
            "KAFKA_CONF_SASL_PASSWORD": secret,
            "KAFKA_PRODUCER_CONF_SSL_KEY_PASSWORD": secret,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "debug",
        ]))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 })
        let exposition = httpGet("http://\(metrics)/metrics")?.body ?? ""
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)

        let logs = daemon.stderr
        #expect(!logs.contains(secret), "a secret was logged")
        #expect(!exposition.contains(secret), "a secret is in the metrics")
        #expect(logs.contains("sasl.password=[REDACTED]"), "the configuration log does not show the redacted property")
        let lines = logs.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count >= 5)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["message"] != nil && object?["level"] != nil, "not a JSON log object: \(line)")
        }
    }
}

import Foundation
import Testing

/// The operator's commands as a shell runs them: `run` without brokers, `--version`, `check`, `config`, `help`.
@Suite(.serialized) struct OperatorCommandTests {
    static func runToExit(_ arguments: [String], environment: [String: String] = [:], timeoutSeconds: Double = 60) throws -> (status: Int32?, stdout: [String], stderr: String) {
        let child = try ChildProcess(name: "consumerd \(arguments.first ?? "")", arguments: arguments, environment: environment)
        // Waits for the exit and then for both pipes' end of file: the last output chunk is read by then.
        let status = child.waitForExit(timeoutSeconds: timeoutSeconds)
        return (status, child.stdout, child.stderr)
    }

    @Test func runWithoutBootstrapStopsWithOneLineNamingDemo() throws {
        let result = try Self.runToExit(["run"], environment: ["METRICS_PORT": "0"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains("KAFKA_BOOTSTRAP_SERVERS") == true && lines.first?.contains("consumerd demo") == true, "\(result.stderr)")
    }

    @Test func versionNamesRevisionAndLibrdkafka() throws {
        let result = try Self.runToExit(["--version"])
        #expect(result.status == 0)
        let line = try #require(result.stdout.first)
        // "consumerd 0.1.0 (revision 548c287c1cd7, librdkafka 2.0.2, Swift 6.3)"; the test runs in a git checkout.
        #expect(line.range(of: #"^consumerd \d+\.\d+\.\d+ \(revision [0-9a-f]{12}, librdkafka \d+\.\d+\.\d+"#, options: .regularExpression) != nil, "\(line)")
    }

    @Test func helpTablesStayInEightyColumns() throws {
        for arguments in [["--help"], ["help", "run"]] {
            let result = try Self.runToExit(arguments, environment: ["COLUMNS": "80"])
            #expect(result.status == 0)
            let text = result.stdout.joined(separator: "\n")
            #expect(text.contains("  KAFKA_BOOTSTRAP_SERVERS [default: required by run]"), "\(arguments): \(text)")
            #expect(text.contains("  UNSAFE_ALLOW_OVERRIDES [default: 0]"))
            #expect(text.contains("  ADMIN_TOKEN [default: unset"))
            for line in result.stdout { #expect(line.count <= 80, "\(arguments): too wide: \(line)") }
            // Defaults are never wrapped into column 0.
            #expect(!result.stdout.contains { $0.hasPrefix("default:") || $0.hasPrefix("[default") })
        }
    }

    @Test func checkPassesAgainstAHealthyCluster() throws {
        let cluster = try MockClusterProcess(partitions: 3)
        let result = try Self.runToExit(["check"], environment: ["KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("ok   input topic ticks.features: 3 partitions"), "\(result.stdout)")
        #expect(result.stdout.contains { $0.hasPrefix("ok   model ml sha256:") }, "\(result.stdout)")
        #expect(!result.stdout.contains { $0.hasPrefix("FAIL") })
    }

    @Test func checkNamesAMissingInputTopic() throws {
        let cluster = try MockClusterProcess(partitions: 1, topics: ["ticks.predictions", "ticks.features.dlq"])
        let result = try Self.runToExit(["check"], environment: ["KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap, "INPUT_TOPIC": "ticks.missing"])
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        let failures = result.stdout.filter { $0.hasPrefix("FAIL") }
        #expect(failures == ["FAIL INPUT_TOPIC: the input topic 'ticks.missing' does not exist"], "\(result.stdout)")
    }

    @Test func checkFailsWhenTheBrokerIsDown() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        #expect(cluster.command("down 1") == "ok")
        let result = try Self.runToExit(["check", "--timeout", "3"], environment: ["KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap])
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        let failures = result.stdout.filter { $0.hasPrefix("FAIL") }
        #expect(failures.count == 1 && failures.first?.contains("KAFKA_BOOTSTRAP_SERVERS") == true, "\(result.stdout)")
    }

    @Test(arguments: [
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "MAX_INFLIGHT": "lots"], "MAX_INFLIGHT"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "FETCH_STALL_SECONDS": "0.5"], "FETCH_STALL_SECONDS"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_CONF_NOT_A_PROPERTY": "1"], "KAFKA_CONF_NOT_A_PROPERTY"),
        (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_CONSUMER_CONF_ENABLE_AUTO_OFFSET_STORE": "true"], "KAFKA_CONSUMER_CONF_ENABLE_AUTO_OFFSET_STORE"),
        ([:], "KAFKA_BOOTSTRAP_SERVERS"),
    ])
    func checkStopsOnBadConfigurationWithExit2(environment: [String: String], variable: String) throws {
        let result = try Self.runToExit(["check", "--timeout", "3"], environment: environment)
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        let errors = result.stderr.split(separator: "\n").filter { $0.contains("startup error") }
        #expect(errors.count == 1 && errors.first?.contains(variable) == true, "\(result.stderr)")
    }

    @Test func unsafeOverridesAreAllowedOnlyWhenAskedFor() throws {
        let environment = ["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_PRODUCER_CONF_ACKS": "1"]
        let refused = try Self.runToExit(["config"], environment: environment)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("KAFKA_PRODUCER_CONF_ACKS: sets acks=1, but consumerd needs acks=all"), "\(refused.stderr)")
        let allowed = try Self.runToExit(["config"], environment: environment.merging(["UNSAFE_ALLOW_OVERRIDES": "1"]) { _, new in new })
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains { $0.contains("acks") && $0.contains("1  <- environment (KAFKA_PRODUCER_CONF_ACKS)") }, "\(allowed.stdout)")
    }

    @Test func configShowsSourcesAndRedactsSecrets() throws {
        let secret = "s3cret-\(UUID().uuidString)"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("operator-secret-\(UUID().uuidString)")
        try Data((secret + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Self.runToExit(["config"], environment: [
            "KAFKA_BOOTSTRAP_SERVERS": "SASL_SSL://user:\(secret)@b1:9093",
            "KAFKA_GROUP_ID": "ops",
            "KAFKA_CONF_SASL_PASSWORD_FILE": file.path,
            "KAFKA_CONF_SASL_USERNAME": "consumerd",
            "ADMIN_TOKEN": secret,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout.joined(separator: "\n")
        #expect(!text.contains(secret), "a secret was printed:\n\(text)")
        #expect(text.contains("KAFKA_GROUP_ID") && text.contains("ops  <- environment (KAFKA_GROUP_ID)"), "\(text)")
        #expect(text.contains("INPUT_TOPIC") && text.contains("ticks.features  <- default"), "\(text)")
        #expect(text.contains("ADMIN_TOKEN") && text.contains("[REDACTED]  <- environment (ADMIN_TOKEN)"), "\(text)")
        #expect(text.contains("sasl.password") && text.contains("[REDACTED]  <- file (KAFKA_CONF_SASL_PASSWORD_FILE)"), "\(text)")
        #expect(text.contains("enable.auto.offset.store") && text.contains("false  <- consumerd (fixed)"), "\(text)")
    }
}

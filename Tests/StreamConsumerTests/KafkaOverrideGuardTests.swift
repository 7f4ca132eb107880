import Foundation
import StreamConsumer
import Testing

@Suite struct KafkaOverrideGuardTests {
    static let exactlyOnce = ProcessingGuarantee.exactlyOnce(ExactlyOnceOptions(transactionalId: "t"))

    static func violations(_ environment: [String: String], guarantee: ProcessingGuarantee = .atLeastOnce) throws -> [KafkaOverrideGuard.Violation] {
        KafkaOverrideGuard.violations(try KafkaSettings.fromEnvironment(environment), guarantee: guarantee)
    }

    @Test(arguments: [
        ("KAFKA_CONF_ENABLE_AUTO_OFFSET_STORE", "true", "enable.auto.offset.store"),
        ("KAFKA_CONSUMER_CONF_ENABLE_AUTO_OFFSET_STORE", "1", "enable.auto.offset.store"),
        ("KAFKA_PRODUCER_CONF_ACKS", "1", "acks"),
        ("KAFKA_CONF_ACKS", "0", "acks"),
        ("KAFKA_PRODUCER_CONF_ENABLE_IDEMPOTENCE", "false", "enable.idempotence"),
        ("KAFKA_CONF_ENABLE_IDEMPOTENCE", "F", "enable.idempotence"),
        ("KAFKA_CONSUMER_CONF_ENABLE_AUTO_COMMIT", "false", "enable.auto.commit"),
        ("KAFKA_CONSUMER_CONF_ENABLE_PARTITION_EOF", "false", "enable.partition.eof"),
        ("KAFKA_PRODUCER_CONF_TRANSACTIONAL_ID", "mine", "transactional.id"),
    ])
    func overridesThatBreakTheGuaranteeAreNamed(variable: String, value: String, property: String) throws {
        let found = try Self.violations([variable: value])
        #expect(found.count == 1)
        #expect(found.first?.property.name == property)
        #expect(found.first?.property.source == variable)
        #expect(found.first?.description.hasPrefix("\(variable) sets \(property)=") == true)
        #expect(found.first?.description.contains("UNSAFE_ALLOW_OVERRIDES=1") == true)
    }

    @Test func valuesTheEngineAlsoUsesAreAccepted() throws {
        let found = try Self.violations([
            "KAFKA_PRODUCER_CONF_ACKS": "-1",
            "KAFKA_CONF_ENABLE_IDEMPOTENCE": "TRUE",
            "KAFKA_CONSUMER_CONF_ENABLE_AUTO_OFFSET_STORE": "false",
            "KAFKA_CONSUMER_CONF_ENABLE_AUTO_COMMIT": "true",
            "KAFKA_CONSUMER_CONF_ENABLE_PARTITION_EOF": "t",
            "KAFKA_CONSUMER_CONF_ISOLATION_LEVEL": "read_uncommitted",  // free in at-least-once mode
            "KAFKA_CONF_LINGER_MS": "20",
        ])
        #expect(found.isEmpty, "\(found)")
        #expect(try Self.violations([:]).isEmpty)
    }

    @Test func aRuleOnlyConcernsTheClientItIsAbout() throws {
        // acks is a producer property: set for the consumer only, it changes nothing the guarantee depends on.
        #expect(try Self.violations(["KAFKA_CONSUMER_CONF_ACKS": "1"]).isEmpty)
        #expect(try Self.violations(["KAFKA_PRODUCER_CONF_ENABLE_AUTO_COMMIT": "false"]).isEmpty)
    }

    @Test func exactlyOnceNeedsReadCommittedAndNoAutoCommit() throws {
        let isolation = try Self.violations(["KAFKA_CONSUMER_CONF_ISOLATION_LEVEL": "read_uncommitted"], guarantee: Self.exactlyOnce)
        #expect(isolation.map(\.property.name) == ["isolation.level"])
        let autoCommit = try Self.violations(["KAFKA_CONSUMER_CONF_ENABLE_AUTO_COMMIT": "true"], guarantee: Self.exactlyOnce)
        #expect(autoCommit.map(\.property.name) == ["enable.auto.commit"])
        #expect(try Self.violations(["KAFKA_CONSUMER_CONF_ENABLE_AUTO_COMMIT": "false"], guarantee: Self.exactlyOnce).isEmpty)
        #expect(try Self.violations(["KAFKA_CONSUMER_CONF_ISOLATION_LEVEL": "READ_COMMITTED"], guarantee: Self.exactlyOnce).isEmpty)
    }

    @Test func aSecretValueIsNotRepeatedInTheMessage() throws {
        // A value read from a file is redacted even for a non-secret property.
        let settings = try KafkaSettings.fromEnvironment(["KAFKA_PRODUCER_CONF_ACKS_FILE": "/x"]) { _ in .success("1") }
        let found = KafkaOverrideGuard.violations(settings, guarantee: .atLeastOnce)
        #expect(found.first?.description.contains("acks=[REDACTED]") == true)
    }
}

@Suite struct SecretFileTests {
    @Test func aFileVariableSetsThePropertyWithoutItsSuffix() throws {
        let settings = try KafkaSettings.fromEnvironment([
            "KAFKA_CONF_SASL_PASSWORD_FILE": "/run/secrets/kafka",
            "KAFKA_PRODUCER_CONF_SSL_KEY_PASSWORD_FILE": "/run/secrets/key",
        ]) { path in
            .success(path == "/run/secrets/kafka" ? "hunter2" : "k3y")
        }
        #expect(settings.commonProperties == [
            KafkaProperty(name: "sasl.password", value: "hunter2", source: "KAFKA_CONF_SASL_PASSWORD_FILE", fromFile: true)
        ])
        #expect(settings.producerProperties.map(\.name) == ["ssl.key.password"])
        #expect(settings.commonProperties.allSatisfy { $0.displayValue == "[REDACTED]" })
    }

    @Test func bothTheValueAndTheFileIsAnError() {
        do {
            _ = try KafkaSettings.fromEnvironment(["KAFKA_CONF_SASL_PASSWORD": "a", "KAFKA_CONF_SASL_PASSWORD_FILE": "/f"]) { _ in .success("b") }
            Issue.record("both were accepted")
        } catch {
            #expect(error.variable == "KAFKA_CONF_SASL_PASSWORD_FILE")
            #expect(error.reason.contains("KAFKA_CONF_SASL_PASSWORD is set too"))
        }
    }

    @Test func anUnreadableFileNamesTheVariableAndNotTheContent() {
        do {
            _ = try KafkaSettings.fromEnvironment(["KAFKA_CONF_SASL_PASSWORD_FILE": "/nonexistent/secret"])
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.variable == "KAFKA_CONF_SASL_PASSWORD_FILE")
            #expect(error.reason.contains("/nonexistent/secret"))
            #expect(error.reason.contains("No such file"))
        }
    }

    @Test func exactlyOneTrailingNewlineIsStripped() {
        #expect(SecretFiles.stripOneTrailingNewline("s3cret\n") == "s3cret")
        #expect(SecretFiles.stripOneTrailingNewline("s3cret\r\n") == "s3cret")
        #expect(SecretFiles.stripOneTrailingNewline("s3cret\n\n") == "s3cret\n")
        #expect(SecretFiles.stripOneTrailingNewline(" s3cret ") == " s3cret ")
    }

    @Test func readsARealFile() throws {
        let path = "/tmp/operator-secret-\(UInt64.random(in: 0...UInt64.max))"
        let file = fopen(path, "w")
        fputs("p@ss word\n", file)
        fclose(file)
        defer { unlink(path) }
        #expect(try SecretFiles.readFromDisk(path).get() == "p@ss word")
    }
}

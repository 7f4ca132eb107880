import StreamConsumer
import Testing

@Suite struct KafkaSettingsTests {
    @Test func defaultsWhenNothingIsSet() throws {
        let settings = try KafkaSettings.fromEnvironment([:])
        #expect(settings.bootstrapServers == nil)
        #expect(settings.groupId == "volatility-consumer")
        #expect(settings.groupInstanceId == nil)
        #expect(settings.autoOffsetReset == "earliest")
        #expect(settings.commonProperties.isEmpty)
    }

    @Test func readsTheDocumentedVariables() throws {
        let settings = try KafkaSettings.fromEnvironment([
            "KAFKA_BOOTSTRAP_SERVERS": "b1:9092,b2:9092",
            "KAFKA_GROUP_ID": "g",
            "KAFKA_GROUP_INSTANCE_ID": "pod-0",
            "KAFKA_AUTO_OFFSET_RESET": "Latest",
            "KAFKA_CONF_SASL_MECHANISM": "PLAIN",
            "KAFKA_CONF_SASL_OAUTHBEARER_CLIENT__ID": "me",
            "KAFKA_CONSUMER_CONF_FETCH_WAIT_MAX_MS": "5",
            "KAFKA_PRODUCER_CONF_LINGER_MS": "1",
            "KAFKA_BOOTSTRAP_SERVERS_X": "ignored",
        ])
        #expect(settings.bootstrapServers == "b1:9092,b2:9092")
        #expect(settings.groupId == "g")
        #expect(settings.groupInstanceId == "pod-0")
        #expect(settings.autoOffsetReset == "latest")
        #expect(settings.commonProperties.map(\.name) == ["sasl.mechanism", "sasl.oauthbearer.client_id"])
        #expect(settings.commonProperties.first?.source == "KAFKA_CONF_SASL_MECHANISM")
        #expect(settings.consumerProperties == [KafkaProperty(name: "fetch.wait.max.ms", value: "5", source: "KAFKA_CONSUMER_CONF_FETCH_WAIT_MAX_MS")])
        #expect(settings.producerProperties.map(\.name) == ["linger.ms"])
    }

    /// The value librdkafka ends up with: the last setting of `name` wins, as when the list is applied in order.
    static func effective(_ name: String, in properties: [KafkaProperty]) -> String? {
        properties.last { $0.name == name }?.value
    }

    @Test func performanceProfileSetsBatchingAndExplicitOverridesWin() throws {
        let throughput = try KafkaSettings.fromEnvironment([:])
        #expect(Self.effective("linger.ms", in: ClientProperties.producer(throughput, bootstrapServers: "b")) == "5")
        #expect(Self.effective("fetch.wait.max.ms", in: ClientProperties.consumer(throughput, bootstrapServers: "b")) == "50")

        let latency = try KafkaSettings.fromEnvironment(["PERFORMANCE_PROFILE": "Latency"])
        #expect(Self.effective("linger.ms", in: ClientProperties.producer(latency, bootstrapServers: "b")) == "0")
        #expect(Self.effective("fetch.wait.max.ms", in: ClientProperties.consumer(latency, bootstrapServers: "b")) == "1")

        let overridden = try KafkaSettings.fromEnvironment([
            "PERFORMANCE_PROFILE": "latency", "KAFKA_CONSUMER_CONF_FETCH_WAIT_MAX_MS": "100",
        ])
        #expect(Self.effective("fetch.wait.max.ms", in: ClientProperties.consumer(overridden, bootstrapServers: "b")) == "100")
        #expect(Self.effective("linger.ms", in: ClientProperties.producer(overridden, bootstrapServers: "b")) == "0")

        do {
            _ = try KafkaSettings.fromEnvironment(["PERFORMANCE_PROFILE": "fast"])
            Issue.record("an unknown profile was accepted")
        } catch {
            #expect(error.variable == "PERFORMANCE_PROFILE")
            #expect(error.description.contains("throughput or latency"))
        }
    }

    /// The catch-up prefetch (librdkafka 2.0.2 pauses fetching for up to 1 s when its queue is full) holds about a
    /// second of catch-up by default; an operator can lower it (less memory) or raise it (docs/PERFORMANCE.md).
    @Test func prefetchHoldsASecondOfCatchUpAndCanBeChanged() throws {
        let defaults = ClientProperties.consumer(try KafkaSettings.fromEnvironment([:]), bootstrapServers: "b")
        #expect(Self.effective("queued.min.messages", in: defaults) == "300000")
        #expect(Self.effective("queued.max.messages.kbytes", in: defaults) == "131072")

        let lowered = ClientProperties.consumer(try KafkaSettings.fromEnvironment([
            "KAFKA_CONSUMER_CONF_QUEUED_MIN_MESSAGES": "100000", "KAFKA_CONSUMER_CONF_QUEUED_MAX_MESSAGES_KBYTES": "65536",
        ]), bootstrapServers: "b")
        #expect(Self.effective("queued.min.messages", in: lowered) == "100000")
        #expect(Self.effective("queued.max.messages.kbytes", in: lowered) == "65536")
    }

    @Test func rejectsAnUnknownOffsetReset() {
        #expect(throws: ConfigurationError.self) {
            try KafkaSettings.fromEnvironment(["KAFKA_AUTO_OFFSET_RESET": "yesterday"])
        }
        do {
            _ = try KafkaSettings.fromEnvironment(["KAFKA_AUTO_OFFSET_RESET": "yesterday"])
        } catch {
            #expect(error.variable == "KAFKA_AUTO_OFFSET_RESET")
            #expect(error.description.contains("earliest"))
        }
    }

    @Test func secretsAreRedactedForLogs() {
        let password = KafkaProperty(name: "sasl.password", value: "hunter2", source: "KAFKA_CONF_SASL_PASSWORD")
        let keyPassword = KafkaProperty(name: "ssl.key.password", value: "k", source: "KAFKA_CONF_SSL_KEY_PASSWORD")
        let mechanism = KafkaProperty(name: "sasl.mechanism", value: "PLAIN", source: "KAFKA_CONF_SASL_MECHANISM")
        #expect(password.displayValue == "[REDACTED]")
        #expect(keyPassword.displayValue == "[REDACTED]")
        #expect(mechanism.displayValue == "PLAIN")
    }

    @Test func unknownLibrdkafkaPropertyNamesItsVariable() throws {
        let settings = try KafkaSettings.fromEnvironment(["KAFKA_CONF_NOT_A_PROPERTY": "1"])
        do {
            _ = try KafkaProducer(bootstrapServers: "127.0.0.1:1", properties: settings.commonProperties)
            Issue.record("an unknown property was accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == "KAFKA_CONF_NOT_A_PROPERTY")
            #expect(error.reason.contains("not.a.property"))
        }
    }
}

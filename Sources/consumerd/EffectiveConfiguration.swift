import StreamConsumer

/// What `consumerd config` prints: every documented variable's effective value and where it came from, then the
/// librdkafka properties each client gets. Secrets never appear.
struct EffectiveConfiguration {
    enum Source: Equatable, CustomStringConvertible {
        case environment(String)
        case file(String)
        case defaultValue
        case consumerd

        var description: String {
            switch self {
            case .environment(let name): "environment (\(name))"
            case .file(let name): "file (\(name))"
            case .defaultValue: "default"
            case .consumerd: "consumerd (fixed)"
            }
        }
    }

    struct Row: Equatable {
        var name: String
        var value: String
        var source: Source
    }

    var variables: [Row]
    var consumer: [Row]
    var producer: [Row]

    static let redacted = "[REDACTED]"

    init(environment: [String: String], configuration: DaemonConfiguration) {
        let reader = EnvironmentReader(environment)
        variables = DaemonConfiguration.documentedVariables.filter { !$0.name.contains("<") }.map { variable in
            if let value = reader.string(variable.name) {
                let shown = variable.secret ? Self.redacted : variable.name == "KAFKA_BOOTSTRAP_SERVERS" ? Banner.redactedBootstrap(value) : value
                return Row(name: variable.name, value: shown, source: .environment(variable.name))
            }
            let fileVariable = variable.name + SecretFiles.suffix
            if variable.secret, reader.string(fileVariable) != nil {
                return Row(name: variable.name, value: Self.redacted, source: .file(fileVariable))
            }
            return Row(name: variable.name, value: variable.defaultValue, source: .defaultValue)
        }
        let bootstrap = configuration.kafka.bootstrapServers ?? "(unset)"
        func rows(_ properties: [KafkaProperty]) -> [Row] {
            // The last setting of a property wins, as librdkafka applies them in order.
            var order: [String] = []
            var latest: [String: KafkaProperty] = [:]
            for property in properties {
                if latest[property.name] == nil { order.append(property.name) }
                latest[property.name] = property
            }
            return order.compactMap { latest[$0] }.map { property in
                let source: Source
                if property.fromFile {
                    source = .file(property.source)
                } else if property.source.hasPrefix("KAFKA_") && property.source.contains("CONF_") {
                    source = .environment(property.source)
                } else if property.source == "consumerd" {
                    source = .consumerd
                } else {
                    source = reader.string(property.source) != nil ? .environment(property.source) : .defaultValue
                }
                let value = property.name == "bootstrap.servers" ? Banner.redactedBootstrap(property.value) : property.displayValue
                return Row(name: property.name, value: value, source: source)
            }
        }
        consumer = rows(ClientProperties.consumer(configuration.kafka, bootstrapServers: bootstrap, guarantee: configuration.guarantee))
        producer = rows(ClientProperties.producer(configuration.kafka, bootstrapServers: bootstrap, guarantee: configuration.guarantee))
    }

    func render() -> String {
        func table(_ title: String, _ rows: [Row]) -> [String] {
            let nameWidth = min(32, rows.map(\.name.count).max() ?? 0)
            return [title] + rows.map { row in
                let name = row.name.count >= nameWidth ? row.name : row.name + String(repeating: " ", count: nameWidth - row.name.count)
                return "  \(name)  \(row.value)  <- \(row.source)"
            }
        }
        return (table("Environment:", variables) + [""]
            + table("librdkafka consumer properties:", consumer) + [""]
            + table("librdkafka producer properties:", producer)).joined(separator: "\n")
    }
}

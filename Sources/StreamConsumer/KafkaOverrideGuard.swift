/// Which `KAFKA_*CONF_*` overrides would break the delivery guarantee: the properties consumerd sets itself
/// (``ClientProperties``) that the engine depends on, and the values it needs. I/O-free; the daemon stops with
/// exit 2 naming the first violation unless the operator sets `UNSAFE_ALLOW_OVERRIDES=1`.
public enum KafkaOverrideGuard {
    /// One override that contradicts what the engine depends on.
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        /// The override as given (its `source` is the variable to fix).
        public var property: KafkaProperty
        /// What the engine needs, e.g. `"all (or -1)"`.
        public var required: String
        /// What breaks otherwise.
        public var consequence: String

        public var description: String {
            "\(property.source) sets \(property.name)=\(property.displayValue), but consumerd needs \(property.name)=\(required): "
                + "\(consequence) (set UNSAFE_ALLOW_OVERRIDES=1 to start anyway)"
        }
    }

    /// Which client a rule is about (common overrides reach both).
    enum Client { case consumer, producer }

    /// One rule: `property` must satisfy `accepts`.
    struct Rule {
        var client: Client
        var property: String
        var required: String
        var consequence: String
        var accepts: (String) -> Bool
    }

    /// The rules for a processing guarantee.
    static func rules(for guarantee: ProcessingGuarantee) -> [Rule] {
        let exactlyOnce: Bool
        if case .exactlyOnce = guarantee { exactlyOnce = true } else { exactlyOnce = false }
        var rules = [
            Rule(
                client: .consumer, property: "enable.auto.offset.store", required: "false",
                consequence: "librdkafka would store offsets of records whose outputs are not acknowledged yet, so a crash could lose them",
                accepts: { boolean($0) == false }),
            Rule(
                client: .consumer, property: "enable.partition.eof", required: "true",
                consequence: "the engine learns that a partition is caught up (lag 0, state rebuild end) from end-of-partition events",
                accepts: { boolean($0) == true }),
            Rule(
                client: .producer, property: "acks", required: "all (or -1)",
                consequence: "an output acknowledged by fewer replicas can be lost after its input offset is committed",
                accepts: { ["all", "-1"].contains($0.lowercased()) }),
            Rule(
                client: .producer, property: "enable.idempotence", required: "true",
                consequence: "librdkafka's retries could duplicate or reorder outputs",
                accepts: { boolean($0) == true }),
            Rule(
                client: .producer, property: "transactional.id", required: "unset (use KAFKA_TRANSACTIONAL_ID)",
                consequence: "transactions are driven by PROCESSING_GUARANTEE=exactly_once, not by a raw property",
                accepts: { _ in false }),
        ]
        if exactlyOnce {
            rules.append(Rule(
                client: .consumer, property: "enable.auto.commit", required: "false",
                consequence: "offsets travel inside the transactions; an automatic commit could commit past uncommitted outputs",
                accepts: { boolean($0) == false }))
            rules.append(Rule(
                client: .consumer, property: "isolation.level", required: "read_committed",
                consequence: "records of aborted transactions would be processed",
                accepts: { $0.lowercased() == "read_committed" }))
        } else {
            rules.append(Rule(
                client: .consumer, property: "enable.auto.commit", required: "true",
                consequence: "the engine stores offsets and relies on librdkafka's auto-commit to send them; nothing would be committed while running",
                accepts: { boolean($0) == true }))
        }
        return rules
    }

    /// Every override in `settings` that breaks a rule, in the order the overrides are listed.
    public static func violations(_ settings: KafkaSettings, guarantee: ProcessingGuarantee) -> [Violation] {
        let rules = rules(for: guarantee)
        var found: [Violation] = []
        let scoped: [(Client?, [KafkaProperty])] = [
            (nil, settings.commonProperties), (.consumer, settings.consumerProperties), (.producer, settings.producerProperties),
        ]
        for (client, properties) in scoped {
            for property in properties {
                for rule in rules where rule.property == property.name && (client == nil || client == rule.client) {
                    if !rule.accepts(property.value.trimmingWhitespace()) {
                        found.append(Violation(property: property, required: rule.required, consequence: rule.consequence))
                    }
                }
            }
        }
        return found
    }

    /// librdkafka's boolean spellings (`true`/`t`/`1`, `false`/`f`/`0`, any case); `nil` for anything else, which
    /// librdkafka itself rejects.
    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "t", "1": return true
        case "false", "f", "0": return false
        default: return nil
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while scalars.first?.isWhitespace == true { scalars.removeFirst() }
        while scalars.last?.isWhitespace == true { scalars.removeLast() }
        return String(scalars)
    }
}

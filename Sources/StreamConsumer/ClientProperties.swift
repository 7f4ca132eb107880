/// The librdkafka properties consumerd sets itself, before the operator's `KAFKA_*CONF_*` overrides.
///
/// These encode the delivery guarantee (manual offset store, idempotent `acks=all` producer) and are listed in
/// one place so the README and the code agree.
public enum ClientProperties {
    /// Consumer: offsets are stored by the engine only after the output's delivery report; auto-commit then
    /// commits what was stored. Partition EOF events let the metrics report "caught up".
    public static func consumer(
        _ settings: KafkaSettings, bootstrapServers: String, guarantee: ProcessingGuarantee = .atLeastOnce
    ) -> [KafkaProperty] {
        var properties = [
            KafkaProperty(name: "bootstrap.servers", value: bootstrapServers, source: "KAFKA_BOOTSTRAP_SERVERS"),
            KafkaProperty(name: "group.id", value: settings.groupId, source: "KAFKA_GROUP_ID"),
            KafkaProperty(name: "auto.offset.reset", value: settings.autoOffsetReset, source: "KAFKA_AUTO_OFFSET_RESET"),
            KafkaProperty(name: "enable.auto.offset.store", value: "false", source: "consumerd"),
            KafkaProperty(name: "enable.auto.commit", value: "true", source: "consumerd"),
            KafkaProperty(name: "auto.commit.interval.ms", value: "1000", source: "consumerd"),
            KafkaProperty(name: "enable.partition.eof", value: "true", source: "consumerd"),
            KafkaProperty(name: "client.id", value: "consumerd", source: "consumerd"),
            KafkaProperty(name: "fetch.wait.max.ms", value: settings.performanceProfile.fetchWaitMaxMs, source: "PERFORMANCE_PROFILE"),
            // librdkafka's prefetch limits stay at its defaults apart from this count (queued.max.messages.kbytes
            // 64 MiB). Version 2.0.2 stops fetching every partition for a fixed 1 s once the consumer queue holds
            // either limit, which costs a catch-up 0.2–0.45 s per cycle. Larger limits (1,000,000 records,
            // 128 MiB) remove that stall but add 60–90 MiB of peak memory to a catch-up and have not been through
            // the whole suite on their own: measured, not the default (docs/PERFORMANCE.md, "Session 7").
            KafkaProperty(name: "queued.min.messages", value: "100000", source: "consumerd"),
            KafkaProperty(
                name: "statistics.interval.ms",
                value: String(settings.statisticsIntervalMs),
                source: "KAFKA_STATISTICS_INTERVAL_MS"
            ),
        ]
        if let instance = settings.groupInstanceId {
            properties.append(KafkaProperty(name: "group.instance.id", value: instance, source: "KAFKA_GROUP_INSTANCE_ID"))
        }
        if case .exactlyOnce = guarantee {
            // Offsets travel inside the producer's transactions; inputs written transactionally are read committed.
            properties.append(KafkaProperty(name: "enable.auto.commit", value: "false", source: "PROCESSING_GUARANTEE"))
            properties.append(KafkaProperty(name: "isolation.level", value: "read_committed", source: "PROCESSING_GUARANTEE"))
        }
        return properties + settings.commonProperties + settings.consumerProperties
    }

    /// Producer: idempotent with `acks=all`, so librdkafka's own retries neither lose nor duplicate outputs.
    public static func producer(
        _ settings: KafkaSettings, bootstrapServers: String, guarantee: ProcessingGuarantee = .atLeastOnce
    ) -> [KafkaProperty] {
        var transactional: [KafkaProperty] = []
        if case .exactlyOnce(let options) = guarantee {
            transactional.append(KafkaProperty(name: "transactional.id", value: options.transactionalId, source: "KAFKA_TRANSACTIONAL_ID"))
        }
        return [
            KafkaProperty(name: "bootstrap.servers", value: bootstrapServers, source: "KAFKA_BOOTSTRAP_SERVERS"),
            KafkaProperty(name: "acks", value: "all", source: "consumerd"),
            KafkaProperty(name: "enable.idempotence", value: "true", source: "consumerd"),
            KafkaProperty(name: "linger.ms", value: settings.performanceProfile.lingerMs, source: "PERFORMANCE_PROFILE"),
            KafkaProperty(name: "client.id", value: "consumerd", source: "consumerd"),
            KafkaProperty(
                name: "statistics.interval.ms",
                value: String(settings.statisticsIntervalMs),
                source: "KAFKA_STATISTICS_INTERVAL_MS"
            ),
        ] + transactional + settings.commonProperties + settings.producerProperties
    }
}

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
            // The prefetch (librdkafka's queue of fetched records, shared by all partitions) holds about a second
            // of catch-up. Version 2.0.2 stops fetching *every* partition once that queue reaches either limit,
            // and looks again only when its broker thread next wakes, up to 1 s later (`fetch.queue.backoff.ms`
            // came in 2.1). With the library's 100,000 records / 64 MiB a catch-up drains the queue in ~0.7 s and
            // then waits out the rest of the second; 128 MiB lasts a second at ~250k records/s of 500-byte ticks.
            // Measured (docs/PERFORMANCE.md, "Session 9"): a 300k-record catch-up 146–156k -> 182–204k
            // records/s, peak RSS 198–216 -> 271–286 MiB. The record count bounds the queue when records are small
            // (librdkafka's per-message overhead is not in the byte count); operators can change both.
            KafkaProperty(name: "queued.min.messages", value: "300000", source: "consumerd"),
            KafkaProperty(name: "queued.max.messages.kbytes", value: "131072", source: "consumerd"),
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

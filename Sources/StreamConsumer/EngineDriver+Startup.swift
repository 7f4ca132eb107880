import Crdkafka

extension EngineDriver {
    /// Start-up budget for reading the output topics' metadata (all topics together).
    static var outputMetadataBudgetMs: Int32 { 3_000 }

    /// Reads the metadata of every topic the producer writes to before the first record is handled.
    ///
    /// librdkafka's producer connects to a broker only when it needs one, and a topic it has not seen yet is
    /// looked up by a timer that runs once a second. Without this, the first outputs after a start wait in
    /// librdkafka's unassigned queue for up to a second; measured on a 300k-record backlog, the producer sent
    /// nothing for 0.9 s while the loop filled its queue and then blocked on it. Asking now, while the consumer
    /// joins its group, connects the producer and caches the partitions. A topic that cannot be read within the
    /// budget (brokers down at start) is only logged: the producer then finds it as before.
    func readOutputMetadata() {
        let topics = [options.topics.output, options.topics.deadLetter] + options.topics.extra
        let deadline = Clock.monotonicNanos() + UInt64(Self.outputMetadataBudgetMs) * 1_000_000
        for topic in topics {
            let now = Clock.monotonicNanos()
            guard now < deadline, !stop.isRequested else {
                logger.info("output topic metadata not read: start-up budget spent", metadata: ["topic": "\(topic)"])
                continue
            }
            let remainingMs = Int32(clamping: (deadline - now) / 1_000_000)
            do {
                let partitions = try TopicMetadata.partitionCount(client: producer, topic: topic, timeoutMs: max(1, remainingMs))
                logger.debug("output topic metadata read", metadata: ["topic": "\(topic)", "partitions": "\(partitions)"])
            } catch {
                logger.info("output topic metadata not read; the first outputs wait for librdkafka to find it", metadata: [
                    "topic": "\(topic)", "error": "\(error)",
                ])
            }
        }
    }
}

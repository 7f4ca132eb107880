import Crdkafka
import Synchronization

/// A plain producer for tools and tests (`consumerd replay`, the demo tick source): fire-and-forget sends with
/// delivery counted, back-pressure by waiting when librdkafka's queue is full.
public final class KafkaProducer: @unchecked Sendable {
    // Unchecked: librdkafka's producer handle is thread-safe; the only Swift state, the topic name cache, is
    // behind a lock, and the counters are atomics.
    private let client: OpaquePointer
    private let counters: DeliveryCounters
    private let topics = Mutex<[String: OwnedCString]>([:])

    /// Messages acknowledged by the broker so far.
    public var deliveredCount: Int { counters.delivered.load(ordering: .relaxed) }
    /// Messages whose delivery failed so far (after librdkafka's own retries).
    public var failedCount: Int { counters.failed.load(ordering: .relaxed) }

    public init(bootstrapServers: String, properties: [KafkaProperty] = []) throws {
        var conf = KafkaConf()
        try conf.set("bootstrap.servers", bootstrapServers, source: "KAFKA_BOOTSTRAP_SERVERS")
        try conf.set("linger.ms", "5", source: "consumerd")
        try conf.set("enable.idempotence", "true", source: "consumerd")
        for property in properties { try conf.set(property) }
        let counters = DeliveryCounters()
        if let handle = conf.handle {
            rd_kafka_conf_set_opaque(handle, Unmanaged.passUnretained(counters).toOpaque())
            rd_kafka_conf_set_dr_msg_cb(handle) { _, message, opaque in
                guard let message, let opaque else { return }
                let counters = Unmanaged<DeliveryCounters>.fromOpaque(opaque).takeUnretainedValue()
                if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    counters.delivered.add(1, ordering: .relaxed)
                } else {
                    counters.failed.add(1, ordering: .relaxed)
                }
            }
        }
        self.counters = counters
        self.client = try conf.makeClient(RD_KAFKA_PRODUCER, operation: "create a Kafka producer")
    }

    deinit {
        rd_kafka_flush(client, 5000)
        rd_kafka_destroy(client)
    }

    /// Queues one record; waits while the local queue is full.
    public func send(
        topic: String,
        key: [UInt8]?,
        value: UnsafeRawBufferPointer,
        timestampMs: Int64? = nil,
        headers: [(String, [UInt8])] = []
    ) throws(KafkaError) {
        let topicName = topics.withLock { topics in
            if let known = topics[topic] { return known }
            let name = OwnedCString(topic)
            topics[topic] = name
            return name
        }
        var headerList: OpaquePointer?
        if !headers.isEmpty, let list = rd_kafka_headers_new(headers.count) {
            for (name, bytes) in headers {
                bytes.withUnsafeBytes { _ = rd_kafka_header_add(list, name, -1, $0.baseAddress, $0.count) }
            }
            headerList = list
        }
        while true {
            let error: rd_kafka_resp_err_t
            if let key {
                error = key.withUnsafeBytes { keyBytes in
                    Producing.produce(client, topic: topicName.pointer, key: keyBytes, value: value, headers: headerList,
                                      timestampMs: timestampMs, opaque: nil)
                }
            } else {
                error = Producing.produce(client, topic: topicName.pointer, key: nil, value: value, headers: headerList,
                                          timestampMs: timestampMs, opaque: nil)
            }
            if error == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if error == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_poll(client, 20)
                continue
            }
            if let headerList { rd_kafka_headers_destroy(headerList) }
            throw KafkaError(operation: "produce to \(topic)", error: error)
        }
    }

    public func send(topic: String, key: String?, value: [UInt8], timestampMs: Int64? = nil) throws(KafkaError) {
        var failure: KafkaError?
        value.withUnsafeBytes { bytes in
            do throws(KafkaError) {
                try send(topic: topic, key: key.map { Array($0.utf8) }, value: bytes, timestampMs: timestampMs)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Asks the cluster for a topic's metadata, which makes brokers with topic auto-creation create it (the
    /// producer side of the protocol requests creation; consumers do not). Returns its partition count.
    @discardableResult
    public func requestMetadata(topic: String, timeoutMs: Int32 = 10_000) throws(KafkaError) -> Int {
        try TopicMetadata.partitionCount(client: client, topic: topic, timeoutMs: timeoutMs)
    }

    /// Serves delivery reports for up to `timeoutMs`.
    public func poll(timeoutMs: Int32 = 0) {
        rd_kafka_poll(client, timeoutMs)
    }

    /// Waits until everything queued is delivered or `timeoutMs` passes; returns how many are still queued.
    @discardableResult
    public func flush(timeoutMs: Int32) -> Int {
        rd_kafka_flush(client, timeoutMs)
        return Int(rd_kafka_outq_len(client))
    }
}

final class DeliveryCounters: Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
}

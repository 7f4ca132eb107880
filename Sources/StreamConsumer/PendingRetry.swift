import Crdkafka

/// The bytes of an output whose delivery failed, kept (a copy) until it is produced again. When it is due is
/// the engine's decision (``DeliveryEngine``); this only holds what the producer needs.
struct PendingRetry {
    let slot: Int
    let topic: OwnedCString
    let key: [UInt8]?
    let value: [UInt8]
    /// Owned until a produce succeeds.
    let headers: OpaquePointer?
    let timestampMs: Int64?

    init(
        slot: Int, topic: OwnedCString, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        headers: OpaquePointer?, timestampMs: Int64?
    ) {
        self.slot = slot
        self.topic = topic
        self.key = key.map { Array($0) }
        self.value = Array(value)
        self.headers = headers
        self.timestampMs = timestampMs
    }

    /// Copies a failed message from its delivery report.
    init(slot: Int, topic: OwnedCString, message: UnsafePointer<rd_kafka_message_t>) {
        var headers: OpaquePointer?
        var copied: OpaquePointer?
        if rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
            copied = rd_kafka_headers_copy(headers)
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        self.init(
            slot: slot, topic: topic, key: KafkaMessage.key(message), value: KafkaMessage.value(message), headers: copied,
            timestampMs: timestampType == RD_KAFKA_TIMESTAMP_CREATE_TIME && timestamp >= 0 ? timestamp : nil
        )
    }

    /// Tries once; headers are handed over only on success, so a failed attempt keeps them for the next.
    func produce(_ producer: OpaquePointer) -> rd_kafka_resp_err_t {
        let attemptHeaders = headers.flatMap { rd_kafka_headers_copy($0) }
        let error = value.withUnsafeBytes { valueBytes in
            withKey { keyBytes in
                Producing.produce(
                    producer, topic: topic.pointer, key: keyBytes, value: valueBytes, headers: attemptHeaders,
                    timestampMs: timestampMs, opaque: InflightTable.opaque(for: slot)
                )
            }
        }
        if error != RD_KAFKA_RESP_ERR_NO_ERROR, let attemptHeaders {
            rd_kafka_headers_destroy(attemptHeaders)
        } else if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            release()
        }
        return error
    }

    private func withKey<Result>(_ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        guard let key else { return body(nil) }
        return key.withUnsafeBytes { body($0) }
    }

    /// Frees the kept headers.
    func release() {
        if let headers { rd_kafka_headers_destroy(headers) }
    }
}

import Crdkafka

/// The UTF-8 headers every dead-letter record carries, so the record explains itself to whoever reads the DLQ.
enum DeadLetterHeaders {
    /// `error_type`, `error`, `source_topic`, `source_partition`, `source_offset`, and `original_size` when the
    /// value was truncated. The caller owns the returned list until it is produced.
    static func make(_ deadLetter: DeadLetter, source: ConsumedRecord) -> OpaquePointer? {
        var fields: [(String, String)] = [
            ("error_type", deadLetter.errorType),
            ("error", deadLetter.reason),
            ("source_topic", source.topic),
            ("source_partition", String(source.partition)),
            ("source_offset", String(source.offset)),
        ]
        if deadLetter.truncateTo != nil {
            fields.append(("original_size", String(source.value.count)))
        }
        guard let headers = rd_kafka_headers_new(fields.count) else { return nil }
        for (name, value) in fields {
            var value = value
            value.withUTF8 { bytes in
                _ = rd_kafka_header_add(headers, name, -1, bytes.baseAddress, bytes.count)
            }
        }
        return headers
    }
}

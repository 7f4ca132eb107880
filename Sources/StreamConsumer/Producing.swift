import Crdkafka

/// One call into `rd_kafka_produceva` (librdkafka's non-variadic produce that takes headers), with the bytes copied
/// by librdkafka so the caller's buffers can be reused at once.
enum Producing {
    /// - Parameter headers: ownership passes to librdkafka on success; on failure it stays with the caller.
    static func produce(
        _ producer: OpaquePointer,
        topic: UnsafePointer<CChar>,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: OpaquePointer?,
        timestampMs: Int64?,
        opaque: UnsafeMutableRawPointer?
    ) -> rd_kafka_resp_err_t {
        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { buffer in
            var count = 0
            func add(_ configure: (inout rd_kafka_vu_t) -> Void) {
                var entry = rd_kafka_vu_t()
                configure(&entry)
                buffer.initializeElement(at: count, to: entry)
                count += 1
            }
            add { $0.vtype = RD_KAFKA_VTYPE_TOPIC; $0.u.cstr = topic }
            add {
                $0.vtype = RD_KAFKA_VTYPE_VALUE
                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                $0.u.mem.size = value.count
            }
            if let key {
                add {
                    $0.vtype = RD_KAFKA_VTYPE_KEY
                    $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                    $0.u.mem.size = key.count
                }
            }
            add { $0.vtype = RD_KAFKA_VTYPE_MSGFLAGS; $0.u.i = RD_KAFKA_MSG_F_COPY }
            add { $0.vtype = RD_KAFKA_VTYPE_OPAQUE; $0.u.ptr = opaque }
            if let headers {
                add { $0.vtype = RD_KAFKA_VTYPE_HEADERS; $0.u.headers = headers }
            }
            if let timestampMs {
                add { $0.vtype = RD_KAFKA_VTYPE_TIMESTAMP; $0.u.i64 = timestampMs }
            }
            let error = rd_kafka_produceva(producer, buffer.baseAddress, count)
            buffer.prefix(count).deinitialize()
            guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
            let code = rd_kafka_error_code(error)
            rd_kafka_error_destroy(error)
            return code
        }
    }
}

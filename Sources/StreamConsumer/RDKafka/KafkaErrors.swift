import Crdkafka

/// librdkafka's error values decoded in one place.
extension KafkaError {
    /// Takes over an `rd_kafka_error_t` (destroyed here).
    init(operation: String, consuming error: OpaquePointer) {
        self.init(operation: operation, code: rd_kafka_error_code(error).rawValue, message: string(fromC: rd_kafka_error_string(error)))
        rd_kafka_error_destroy(error)
    }

    /// librdkafka's text for an error code.
    static func text(_ error: rd_kafka_resp_err_t) -> String {
        string(fromC: rd_kafka_err2str(error))
    }
}

/// Runs a librdkafka call that writes an error text into a caller's buffer, and returns the call's result with
/// the text (empty when none was written).
func withErrorText<Result>(_ body: (UnsafeMutablePointer<CChar>, Int) -> Result) -> (Result, String) {
    var buffer = [CChar](repeating: 0, count: 512)
    // A 512-element buffer always has a base address.
    let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (result, text)
}

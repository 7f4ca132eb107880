#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A NUL-terminated copy of a string that lives as long as its owner (topic names passed to librdkafka on every
/// produce, without a conversion per record).
final class OwnedCString: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<CChar>
    let string: String

    init(_ string: String) {
        self.string = string
        let bytes = string.utf8CString
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        for (index, byte) in bytes.enumerated() { pointer[index] = byte }
        self.pointer = pointer
    }

    deinit {
        pointer.deallocate()
    }
}

/// Reads a C string that may be null.
func string(fromC pointer: UnsafePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(cString: pointer)
}

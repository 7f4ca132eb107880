#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `NAME_FILE` variables: the value of `NAME` read from a file (Docker and Kubernetes secrets), so a secret need
/// not sit in the environment. One trailing newline (`\n` or `\r\n`) is stripped; nothing else is changed.
public enum SecretFiles {
    /// The suffix that turns a variable into "read my value from this file".
    public static let suffix = "_FILE"

    /// Reads a secret file; errors name the variable that pointed at it (never the file's content).
    public typealias Reader = @Sendable (_ path: String) -> Result<String, SecretFileError>

    /// Reads `path` with POSIX calls (StreamConsumer does not link Foundation).
    public static let readFromDisk: Reader = { path in
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return .failure(SecretFileError(reason: Self.errnoText())) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 { return .failure(SecretFileError(reason: Self.errnoText())) }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            guard bytes.count <= 1_048_576 else { return .failure(SecretFileError(reason: "larger than 1 MiB")) }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(SecretFileError(reason: "not UTF-8 text"))
        }
        return .success(stripOneTrailingNewline(text))
    }

    /// `"s3cret\n"` → `"s3cret"`; `"s3cret\n\n"` → `"s3cret\n"` (only one newline is removed).
    public static func stripOneTrailingNewline(_ text: String) -> String {
        // "\r\n" is one Character in Swift, so one `dropLast()` removes either ending.
        guard let last = text.last, last == "\n" || last == "\r\n" else { return text }
        return String(text.dropLast())
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

/// Why a secret file could not be read.
public struct SecretFileError: Error, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

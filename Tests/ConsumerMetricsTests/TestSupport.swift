//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Foundation
import Synchronization

@testable import ConsumerMetrics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let value: Mutex<Double>

    init(_ start: Double = 0) {
        self.value = Mutex(start)
    }

    var now: Double { self.value.withLock { $0 } }

    func set(_ t: Double) { self.value.withLock { $0 = t } }

    func advance(by seconds: Double) { self.value.withLock { $0 += seconds } }

    var closure: @Sendable () -> Double { { self.now } }
}

func makeMetrics(clock: ManualClock = ManualClock(1_700_000_000)) -> ConsumerMetrics {
    ConsumerMetrics(
        variant: "baseline",
        modelVersion: "2024-06-01",
        modelPath: "/models/baseline.json",
        buildVersion: "1.2.3",
        clock: clock.closure
    )
}

/// A parsed Prometheus text exposition.
struct Exposition {
    var help: [String: String] = [:]
    var type: [String: String] = [:]
    /// Sample key (name plus `{labels}` exactly as rendered) → value.
    var samples: [String: Double] = [:]
    var sampleOrder: [String] = []

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst("# HELP ".count)
                let parts = rest.split(separator: " ", maxSplits: 1)
                self.help[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst("# TYPE ".count).split(separator: " ")
                self.type[String(parts[0])] = String(parts[1])
            } else if let space = line.lastIndex(of: " ") {
                let key = String(line[..<space])
                self.samples[key] = Double(line[line.index(after: space)...])
                self.sampleOrder.append(key)
            }
        }
    }

    /// The family a sample belongs to (strips labels and histogram suffixes when the base is typed).
    func family(ofSample key: String) -> String {
        let name = String(key.prefix { $0 != "{" })
        if self.type[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if self.type[base] == "histogram" { return base }
        }
        return name
    }
}

/// A response read off a raw socket.
struct RawHTTPResponse {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        self.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

enum RawHTTPClientError: Error {
    case socket(String)
}

/// A minimal blocking HTTP/1.1 client over a POSIX socket with generous timeouts, so tests
/// exercise the real listening socket without depending on a client library.
enum RawHTTPClient {
    /// Sends `request` bytes to 127.0.0.1:`port` and reads until the server closes the connection.
    /// Returns `nil` if the connection closed (or was reset) before any response bytes arrived.
    static func exchange(port: Int, request: [UInt8], timeoutSeconds: Int = 20) throws -> RawHTTPResponse? {
        let fd = try self.connect(port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        _ = self.sendAll(fd, request)
        let bytes = self.readToEOF(fd)
        guard !bytes.isEmpty else { return nil }
        return self.parse(bytes)
    }

    static func get(port: Int, path: String, method: String = "GET") throws -> RawHTTPResponse? {
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        return try self.exchange(port: port, request: Array(request.utf8))
    }

    static func connect(port: Int, timeoutSeconds: Int) throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw RawHTTPClientError.socket("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw RawHTTPClientError.socket("connect() to port \(port) failed: errno \(errno)")
        }
        return fd
    }

    /// Sends everything; returns false if the peer closed/reset first (expected for rejected requests).
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    static func readToEOF(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return out }  // EOF, reset or timeout
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// Reads exactly one response whose length is given by Content-Length (for keep-alive tests).
    static func readOneResponse(_ fd: Int32, head: Bool = false) -> RawHTTPResponse? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let parsed = self.parse(buffer), let end = self.headerEnd(buffer) {
                let length = Int(parsed.header("content-length") ?? "0") ?? 0
                if head || buffer.count - end >= length { return parsed }
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return buffer.isEmpty ? nil : self.parse(buffer) }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        let marker: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where Array(bytes[i..<(i + 4)]) == marker {
            return i + 4
        }
        return nil
    }

    static func parse(_ bytes: [UInt8]) -> RawHTTPResponse? {
        guard let end = self.headerEnd(bytes) else { return nil }
        let headText = String(decoding: bytes[0..<(end - 4)], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return RawHTTPResponse(status: status, headers: headers, body: String(decoding: bytes[end...], as: UTF8.self))
    }
}

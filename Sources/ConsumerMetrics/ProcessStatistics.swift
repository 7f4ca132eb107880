//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point-in-time reading of this process's resource usage, in the units of the standard
/// Prometheus `process_*` metrics (the same names client_python exports, so existing dashboards
/// keep working).
///
/// Read from `/proc/self` on Linux at scrape time; every field is optional because any of the
/// files can be unreadable (hardened containers, non-Linux development machines).
public struct ProcessStatistics: Sendable, Equatable {
    /// `process_resident_memory_bytes`.
    public var residentMemoryBytes: Double?
    /// `process_virtual_memory_bytes`.
    public var virtualMemoryBytes: Double?
    /// `process_cpu_seconds_total` (user + system).
    public var cpuSeconds: Double?
    /// `process_open_fds`.
    public var openFileDescriptors: Double?
    /// `process_max_fds` (the soft `RLIMIT_NOFILE`).
    public var maxFileDescriptors: Double?
    /// `process_start_time_seconds` (Unix epoch).
    public var startTimeSeconds: Double?

    /// Creates an empty reading.
    public init() {}

    /// Reads the current process's statistics. Cheap (a few small `/proc` reads); never throws.
    public static func current() -> ProcessStatistics {
        var stats = ProcessStatistics()
        #if os(Linux)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = readSmallFile("/proc/self/stat"), let fields = Self.statFields(stat) {
            // Fields after "(comm)", 0-based from field 3 ("state") of proc(5).
            if ticks > 0, fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) {
                stats.cpuSeconds = (utime + stime) / ticks
            }
            if fields.count > 20, let vsize = Double(fields[20]) {
                stats.virtualMemoryBytes = vsize
            }
            if pageSize > 0, fields.count > 21, let rss = Double(fields[21]) {
                stats.residentMemoryBytes = rss * pageSize
            }
            if ticks > 0, fields.count > 19, let start = Double(fields[19]), let boot = Self.bootTime() {
                stats.startTimeSeconds = boot + start / ticks
            }
        }
        stats.openFileDescriptors = Self.countOpenFileDescriptors()
        #endif
        var limit = rlimit()
        #if os(Linux)
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        if getrlimit(resource, &limit) == 0 {
            stats.maxFileDescriptors = limit.rlim_cur >= rlim_t(Int64.max) ? nil : Double(limit.rlim_cur)
        }
        return stats
    }

    /// Splits `/proc/<pid>/stat` after the parenthesised command name, which may itself contain
    /// spaces and parentheses.
    static func statFields(_ text: String) -> [Substring]? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
    }

    #if os(Linux)
    /// System boot time (`btime` in `/proc/stat`), in Unix epoch seconds.
    private static func bootTime() -> Double? {
        guard let text = readSmallFile("/proc/stat", limit: 1 << 20) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingSpaces())
        }
        return nil
    }

    /// Entries in `/proc/self/fd`, excluding the directory handle used to list it.
    private static func countOpenFileDescriptors() -> Double? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return Double(max(count - 1, 0))
    }
    #endif
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

/// Reads a small text file (procfs) with plain POSIX calls; `nil` when unreadable.
func readSmallFile(_ path: String, limit: Int = 64 * 1024) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < limit {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

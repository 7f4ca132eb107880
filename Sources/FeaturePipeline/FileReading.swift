import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads small configuration/model files with the operating system's reason on failure.
enum FileReading {
    /// Files larger than this are refused (models are a few MB at most).
    static let maximumFileSize = 1 << 30

    /// Whether a regular file or symlink to one exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Reads the whole file.
    /// - Throws: ``ModelLoadError/unreadableFile(path:reason:)`` with `strerror` text.
    static func contents(of path: String) throws(ModelLoadError) -> Data {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadableFile(path: path, reason: "not a regular file")
        }
        guard Int(info.st_size) <= self.maximumFileSize else {
            throw .unreadableFile(path: path, reason: "file is \(info.st_size) bytes, limit \(self.maximumFileSize)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: 4096)) }
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let start = buffer.baseAddress else { return 0 }
                return read(fd, start + filled, buffer.count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            filled += n
            guard filled <= self.maximumFileSize else {
                throw .unreadableFile(path: path, reason: "file is larger than \(self.maximumFileSize) bytes")
            }
        }
        bytes.removeSubrange(filled...)
        return Data(bytes)
    }
}

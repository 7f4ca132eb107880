#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging

/// `LOG_FORMAT=json`: one JSON object per line on standard error,
/// `{"time":"2026-11-30T03:15:42.123456Z","level":"info","msg":"…","logger":"consumerd", metadata…}`.
///
/// Metadata keeps its type: a value logged as a number (`.stringConvertible(42)`), a boolean, an array or a
/// dictionary is written as one; everything else as a string. A metadata key that clashes with `time`, `level`,
/// `msg` or `logger` is kept under the prefix `meta.` (never dropped). Keys are written in sorted order after
/// the four fixed fields, so lines are stable for diffing.
struct JSONLogHandler: LogHandler {
    static let reservedKeys: Set<String> = ["time", "level", "msg", "logger"]

    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    /// Where lines go (standard error in the daemon; a buffer in tests).
    var write: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data(line.utf8)) }
    /// Wall-clock seconds since the epoch.
    var clock: @Sendable () -> (seconds: Int, microseconds: Int) = JSONLogHandler.now

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        write(Self.line(
            time: clock(), level: event.level, message: "\(event.message)", label: label, metadata: merged))
    }

    /// The whole line, newline included.
    static func line(
        time: (seconds: Int, microseconds: Int), level: Logger.Level, message: String, label: String, metadata: Logger.Metadata
    ) -> String {
        var out = "{\"time\":"
        appendString(rfc3339(time), to: &out)
        out += ",\"level\":"
        appendString(level.rawValue, to: &out)
        out += ",\"msg\":"
        appendString(message, to: &out)
        out += ",\"logger\":"
        appendString(label, to: &out)
        var used = reservedKeys
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            var name = key
            while used.contains(name) { name = "meta." + name }
            used.insert(name)
            out += ","
            appendString(name, to: &out)
            out += ":"
            appendValue(value, to: &out)
        }
        return out + "}\n"
    }

    /// `2026-11-30T03:15:42.123456Z`.
    static func rfc3339(_ time: (seconds: Int, microseconds: Int)) -> String {
        var seconds = time_t(time.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(time.microseconds), 6))Z"
    }

    static func now() -> (seconds: Int, microseconds: Int) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (Int(spec.tv_sec), Int(spec.tv_nsec) / 1000)
    }

    static func appendValue(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let string):
            appendString(string, to: &out)
        case .stringConvertible(let convertible):
            switch convertible {
            case let bool as Bool:
                out += bool ? "true" : "false"
            case let integer as any BinaryInteger:
                out += String(describing: integer)
            case let double as Double where double.isFinite:
                out += String(describing: double)
            case let float as Float where float.isFinite:
                out += String(describing: Double(float))
            default:
                appendString(convertible.description, to: &out)
            }
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                appendValue(element, to: &out)
            }
            out += "]"
        case .dictionary(let dictionary):
            out += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                if let element = dictionary[key] { appendValue(element, to: &out) } else { out += "null" }
            }
            out += "}"
        }
    }

    /// A JSON string literal (RFC 8259 escaping: quote, backslash, control characters).
    static func appendString(_ string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

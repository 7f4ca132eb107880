import FeaturePipeline
import Foundation

/// An NDJSON tick file prepared for replay: each line with its event time and a template for writing a new one.
///
/// Rewriting a timestamp is a splice of the line's bytes (the top-level `ts`/`timestamp` number, or a raw ticker's
/// `time` string), so replay keeps every other byte of the recording as it was.
struct TickFile: Sendable {
    struct Line: Sendable {
        var bytes: [UInt8]
        var productId: String?
        /// Event time in the recording (epoch seconds).
        var eventTime: Double
        /// Where the event time sits in `bytes`, and how to write it.
        var timeField: TimeField?
        /// Where the top-level product id string's content sits in `bytes`.
        var productField: Range<Int>?
    }

    enum TimeField: Sendable {
        case number(Range<Int>)
        case isoString(Range<Int>)
    }

    enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case empty(path: String)

        var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read tick file \(path): \(reason)"
            case .empty(let path): "tick file \(path) has no lines"
            }
        }
    }

    var lines: [Line]

    static func load(path: String) throws(LoadError) -> TickFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let decoder = RecordDecoder()
        var lines: [Line] = []
        var previousTime = 0.0
        for slice in data.split(separator: 0x0A) where !slice.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            let bytes = Array(slice)
            var line = Line(
                bytes: bytes, productId: nil, eventTime: previousTime, timeField: Self.findTimeField(bytes),
                productField: Self.findProductField(bytes)
            )
            let decoded = bytes.withUnsafeBytes { raw in
                try? decoder.decode(raw, key: nil, kafkaTimestamp: nil, now: .greatestFiniteMagnitude)
            }
            if case .tick(let tick) = decoded {
                line.productId = tick.productId
                line.eventTime = tick.eventTime
            } else if case .number(let range) = line.timeField,
                let text = String(bytes: bytes[range], encoding: .utf8), let time = Double(text) {
                line.eventTime = time
            }
            if line.productId == nil, let range = line.productField {
                line.productId = String(decoding: bytes[range], as: UTF8.self)
            }
            previousTime = line.eventTime
            lines.append(line)
        }
        guard !lines.isEmpty else { throw .empty(path: path) }
        return TickFile(lines: lines)
    }

    /// The line's bytes with its event time replaced by `time` (epoch seconds, unless nil) and its top-level
    /// product id by `productId` (unless nil). Later ranges are spliced first, so earlier ones stay valid.
    func bytes(of line: Line, eventTime time: Double?, productId: String? = nil) -> [UInt8] {
        var splices: [(Range<Int>, [UInt8])] = []
        if let time, let field = line.timeField {
            switch field {
            case .number(let range): splices.append((range, Array(String(format: "%.6f", time).utf8)))
            case .isoString(let range): splices.append((range, Array(Self.iso8601(time).utf8)))
            }
        }
        if let productId, let range = line.productField {
            splices.append((range, Array(productId.utf8)))
        }
        guard !splices.isEmpty else { return line.bytes }
        var bytes = line.bytes
        for (range, replacement) in splices.sorted(by: { $0.0.lowerBound > $1.0.lowerBound }) {
            bytes.replaceSubrange(range, with: replacement)
        }
        return bytes
    }

    /// Seconds between consecutive lines, with gaps longer than `maxGap` shortened to `shortenedGap`.
    func schedule(maxGap: Double?, shortenedGap: Double = 1) -> [Double] {
        var offsets: [Double] = []
        var elapsed = 0.0
        for (index, line) in lines.enumerated() {
            if index > 0 {
                var gap = max(0, line.eventTime - lines[index - 1].eventTime)
                if let maxGap, gap > maxGap { gap = shortenedGap }
                elapsed += gap
            }
            offsets.append(elapsed)
        }
        return offsets
    }

    static func iso8601(_ time: Double) -> String {
        let seconds = floor(time)
        let micros = Int(((time - seconds) * 1e6).rounded())
        var tmValue = tm()
        var epoch = time_t(seconds)
        gmtime_r(&epoch, &tmValue)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
            Int(tmValue.tm_year) + 1900, Int(tmValue.tm_mon) + 1, Int(tmValue.tm_mday),
            Int(tmValue.tm_hour), Int(tmValue.tm_min), Int(tmValue.tm_sec), min(micros, 999_999)
        )
    }

    /// The value range of the first top-level `"ts"` or `"timestamp"` number, else of a `"time"` string.
    /// Escaped keys inside an envelope's `raw` string (`\"time\"`) never match, because their quotes are escaped.
    static func findTimeField(_ bytes: [UInt8]) -> TimeField? {
        for key in ["\"ts\"", "\"timestamp\""] {
            if let valueStart = valueStart(after: key, in: bytes) {
                var end = valueStart
                while end < bytes.count, "+-.0123456789eE".utf8.contains(bytes[end]) { end += 1 }
                if end > valueStart { return .number(valueStart..<end) }
            }
        }
        if let valueStart = valueStart(after: "\"time\"", in: bytes), valueStart < bytes.count, bytes[valueStart] == 0x22 {
            var end = valueStart + 1
            while end < bytes.count, bytes[end] != 0x22 { end += 1 }
            if end < bytes.count { return .isoString((valueStart + 1)..<end) }
        }
        return nil
    }

    /// The content range of the first top-level `"product_id"` or `"pair"` string.
    static func findProductField(_ bytes: [UInt8]) -> Range<Int>? {
        for key in ["\"product_id\"", "\"pair\""] {
            if let start = valueStart(after: key, in: bytes), start < bytes.count, bytes[start] == 0x22 {
                var end = start + 1
                while end < bytes.count, bytes[end] != 0x22 { end += 1 }
                if end < bytes.count { return (start + 1)..<end }
            }
        }
        return nil
    }

    private static func valueStart(after key: String, in bytes: [UInt8]) -> Int? {
        let needle = Array(key.utf8)
        guard bytes.count > needle.count else { return nil }
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle),
                index == 0 || bytes[index - 1] != 0x5C {
                var cursor = index + needle.count
                while cursor < bytes.count, bytes[cursor] == 0x20 { cursor += 1 }
                guard cursor < bytes.count, bytes[cursor] == 0x3A else { index += 1; continue }
                cursor += 1
                while cursor < bytes.count, bytes[cursor] == 0x20 { cursor += 1 }
                return cursor
            }
            index += 1
        }
        return nil
    }
}

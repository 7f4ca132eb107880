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

extension TickFile {
    /// The line's bytes with its event time moved by a whole number of seconds: the integer digits of a
    /// top-level `ts`/`timestamp` number are rewritten and its fraction digits kept as recorded, so every
    /// difference between two event times of a pass is exactly the recorded one (an ISO `time` string is
    /// rewritten with microseconds, its recorded precision).
    func bytes(of line: Line, shiftedBySeconds shift: Int64) -> [UInt8] {
        guard shift != 0, let field = line.timeField else { return line.bytes }
        var bytes = line.bytes
        switch field {
        case .number(let range):
            let text = bytes[range]
            let dot = text.firstIndex(of: UInt8(ascii: ".")) ?? text.endIndex
            guard !text.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }),
                let whole = Int64(String(decoding: text[text.startIndex..<dot], as: UTF8.self)), whole >= 0
            else {
                return self.bytes(of: line, eventTime: line.eventTime + Double(shift))
            }
            bytes.replaceSubrange(text.startIndex..<dot, with: Array(String(whole + shift).utf8))
        case .isoString(let range):
            bytes.replaceSubrange(range, with: Array(Self.iso8601(line.eventTime + Double(shift)).utf8))
        }
        return bytes
    }
}

/// The embedded demo's timeline: the recorded ticks looped in passes, with event times that tell the truth.
///
/// A *session* is a run of lines without an event-time gap over 60 s. Each session keeps its recorded internal
/// timing; the long gaps between sessions are shortened, in event time, to `sessionGap` (longer than
/// max(60, H), so no feature window and no label horizon spans two sessions) and, in wall-clock time, to 1 s
/// at the recorded pace. Every event time is the recorded one plus a whole number of seconds (per session and
/// pass), so the features of every pass equal those of the recording. Pass 0 ends at the start time (it lies
/// entirely in the past); each later pass follows the previous one after `sessionGap`. A tick is never sent
/// before its event time: when the replay (at `DEMO_SPEEDUP`) catches up with the clock it waits.
struct DemoTimeline: Sendable {
    /// Whole-second offset of each line within a pass (its session's offset).
    let lineOffsets: [Int64]
    /// Event-time gap between sessions (and between passes), in whole seconds.
    let sessionGap: Int64
    /// Whole seconds from one pass to the next.
    let passLength: Int64
    /// Recorded event time of the first and last line.
    let first: Double
    let last: Double
    /// Wall-clock offsets (seconds from the pass start, before `speedup`) of each line.
    let wallOffsets: [Double]
    /// Index of the first line of each session.
    let sessionStarts: [Int]

    /// A gap over this (event time) separates two sessions.
    static let sessionBreakSeconds = 60.0

    init(file: TickFile, labelHorizonSeconds: Double) {
        let gap = Int64(max(Self.sessionBreakSeconds, labelHorizonSeconds).rounded(.down)) + 2
        var offsets: [Int64] = []
        var starts: [Int] = []
        var offset: Int64 = 0
        for (index, line) in file.lines.enumerated() {
            if index == 0 {
                starts.append(0)
            } else {
                let previous = file.lines[index - 1]
                let recordedGap = line.eventTime - previous.eventTime
                if recordedGap > Self.sessionBreakSeconds {
                    starts.append(index)
                    // New session: its first tick lands at least `gap` seconds after the previous one.
                    let previousShifted = previous.eventTime + Double(offset)
                    offset = Int64((previousShifted + Double(gap) - line.eventTime).rounded(.up))
                }
            }
            offsets.append(offset)
        }
        self.lineOffsets = offsets
        self.sessionGap = gap
        self.sessionStarts = starts
        self.first = file.lines.first?.eventTime ?? 0
        self.last = file.lines.last?.eventTime ?? 0
        let span = (self.last + Double(offsets.last ?? 0)) - self.first
        self.passLength = Int64(span.rounded(.up)) + gap
        self.wallOffsets = file.schedule(maxGap: Self.sessionBreakSeconds, shortenedGap: 1)
    }

    /// Whole-second shift of line `index` in pass `pass`, for a replay started at wall-clock `start`.
    func shift(line index: Int, pass: Int, start: Double) -> Int64 {
        // Pass 0's last tick lands at or before `start`.
        let base = Int64((start - (self.last + Double(self.lineOffsets.last ?? 0))).rounded(.down))
        return base + Int64(pass) * self.passLength + self.lineOffsets[index]
    }

    /// Event time of line `index` in pass `pass`.
    func eventTime(of line: TickFile.Line, index: Int, pass: Int, start: Double) -> Double {
        line.eventTime + Double(self.shift(line: index, pass: pass, start: start))
    }
}

import Logging

/// Which log lines get through when the same warning repeats (a broker flapping, all brokers down): an I/O-free
/// value type, shared by every handler through ``LogRateLimiter``.
///
/// - Only `warning` and `error` lines are limited, and librdkafka's own lines from `info` up (its connection
///   chatter); `critical` always passes and so do consumerd's lines below `warning` (the info lines tests and
///   operators count, e.g. one per state rebuild, are never dropped).
/// - Lines are identical when their logger, level and message agree once every run of digits is read as one
///   digit (librdkafka's "after 12ms", ports and broker ids vary between otherwise identical lines).
/// - Each such line passes at most ``perKeyLimit`` times in any ``windowSeconds``; its repeats pass only while all
///   limited lines together stay under ``totalLimit`` minus ``reservedForNewKinds`` in the window. The first line
///   of a kind in a window always passes (a new, different warning, such as "fetching paused" amid connection
///   errors, is never starved); the reserve keeps room for those, so the total exceeds ``totalLimit`` only when
///   more than ``reservedForNewKinds`` new kinds arrive after the repeats used their share. Sliding windows: no
///   burst straddles a boundary.
/// - What was dropped is counted per line and reported on the next line of that kind that passes; when none comes,
///   a summary line (the dropped message with `suppressed=N`) is due once the line's window has room again
///   (``dueSummaries(now:)``; summaries count against the total too).
struct LogRateLimit: Sendable {
    enum Decision: Equatable {
        /// Write the line; `suppressed` identical lines were dropped since the last one written.
        case emit(suppressed: Int)
        case drop
    }

    var windowSeconds: Double = 60
    var perKeyLimit = 3
    var totalLimit = 20
    var reservedForNewKinds = 5
    private var emitted: [String: [Double]] = [:]
    private var suppressed: [String: Int] = [:]
    private var allEmitted: [Double] = []
    /// The last dropped line of each key with a pending count, for its summary.
    private var lastDropped: [String: Summary] = [:]

    /// A line standing for the dropped lines of one kind.
    struct Summary: Equatable {
        var label: String
        var level: Logger.Level
        var message: String
        var suppressed: Int
    }

    init(windowSeconds: Double = 60, perKeyLimit: Int = 3, totalLimit: Int = 20) {
        self.windowSeconds = windowSeconds
        self.perKeyLimit = perKeyLimit
        self.totalLimit = totalLimit
    }

    static func isLimited(_ level: Logger.Level, fromLibrdkafka: Bool = false) -> Bool {
        level == .warning || level == .error || (fromLibrdkafka && (level == .info || level == .notice))
    }

    /// The key under which repeated lines count as identical.
    static func key(label: String, level: Logger.Level, message: String) -> String {
        var key = label + "\u{1F}" + level.rawValue + "\u{1F}"
        var inDigits = false
        for character in message {
            if character.isASCII && character.isNumber {
                if !inDigits { key.append("#") }
                inDigits = true
            } else {
                key.append(character)
                inDigits = false
            }
        }
        return key
    }

    /// Decides about one line at `now` (monotonic seconds).
    mutating func admit(label: String, level: Logger.Level, message: String, now: Double, fromLibrdkafka: Bool = false) -> Decision {
        guard Self.isLimited(level, fromLibrdkafka: fromLibrdkafka) else { return .emit(suppressed: 0) }
        let key = Self.key(label: label, level: level, message: message)
        let horizon = now - windowSeconds
        allEmitted.removeAll { $0 <= horizon }
        var times = emitted[key, default: []]
        times.removeAll { $0 <= horizon }
        guard times.isEmpty || (times.count < perKeyLimit && allEmitted.count < totalLimit - reservedForNewKinds) else {
            emitted[key] = times
            suppressed[key, default: 0] += 1
            lastDropped[key] = Summary(label: label, level: level, message: message, suppressed: 0)
            return .drop
        }
        times.append(now)
        emitted[key] = times
        allEmitted.append(now)
        lastDropped[key] = nil
        let dropped = suppressed.removeValue(forKey: key) ?? 0
        // Keys not seen for a window hold nothing worth keeping (bounded memory with varying messages).
        if emitted.count > 1024 { emitted = emitted.filter { !$0.value.isEmpty } }
        return .emit(suppressed: dropped)
    }

    /// Summaries of kinds whose dropped lines were never reported and that may be written again now; each is
    /// counted as written. Cheap when nothing is pending.
    mutating func dueSummaries(now: Double) -> [Summary] {
        guard !lastDropped.isEmpty else { return [] }
        let horizon = now - windowSeconds
        allEmitted.removeAll { $0 <= horizon }
        var due: [Summary] = []
        for (key, var summary) in lastDropped.sorted(by: { $0.key < $1.key }) {
            guard allEmitted.count < totalLimit - reservedForNewKinds else { break }
            var times = emitted[key, default: []]
            times.removeAll { $0 <= horizon }
            guard times.count < perKeyLimit, let count = suppressed.removeValue(forKey: key) else { continue }
            times.append(now)
            emitted[key] = times
            allEmitted.append(now)
            lastDropped[key] = nil
            summary.suppressed = count
            due.append(summary)
        }
        return due
    }
}

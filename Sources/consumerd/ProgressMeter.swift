import Foundation
import StreamConsumer

/// Progress of a long command (`replay`, `audit`) on standard error: on a terminal one line refreshed in place
/// (records, rate, ETA when the total is known); otherwise nothing until ``finish(_:)`` prints one summary line,
/// so logs and pipes get a single line per run.
final class ProgressMeter {
    private let label: String
    private let interactive: Bool
    private let write: (String) -> Void
    private let started = Clock.monotonicNanos()
    private var lastDraw: UInt64 = 0
    private(set) var done: Int64 = 0
    /// Records expected in all; `nil` when unknown (no ETA).
    var total: Int64?
    /// What is being done now (e.g. "reading outputs"), shown before the counts.
    var phase: String = ""
    /// Refresh at most this often (nanoseconds).
    static let interval: UInt64 = 250_000_000

    init(label: String, total: Int64?, interactive: Bool = isatty(STDERR_FILENO) == 1, write: ((String) -> Void)? = nil) {
        self.label = label
        self.total = total
        self.interactive = interactive
        self.write = write ?? { text in FileHandle.standardError.write(Data(text.utf8)) }
    }

    var elapsedSeconds: Double { Double(Clock.monotonicNanos() - started) / 1e9 }

    /// Counts `records` more; redraws on a terminal when the interval has passed (the clock is read once per
    /// 256 records).
    func advance(by records: Int = 1) {
        let before = done
        done += Int64(records)
        guard interactive, before >> 8 != done >> 8 || records > 1 else { return }
        let now = Clock.monotonicNanos()
        guard now - lastDraw >= Self.interval else { return }
        lastDraw = now
        write("\r\u{1B}[K" + line(now: now))
    }

    /// The status line: `audit: replaying inputs 120,000/1,000,000 records  40,000/s  ETA 0:22`.
    func line(now: UInt64 = Clock.monotonicNanos()) -> String {
        let seconds = max(Double(now - started) / 1e9, 1e-9)
        let rate = Double(done) / seconds
        var text = "\(label):" + (phase.isEmpty ? "" : " \(phase)") + " \(Self.grouped(done))"
        if let total {
            text += "/\(Self.grouped(total)) records"
            if rate > 0, total > done {
                text += "  \(Self.grouped(Int64(rate)))/s  ETA \(Self.clock(Double(total - done) / rate))"
            } else {
                text += "  \(Self.grouped(Int64(rate)))/s"
            }
        } else {
            text += " records  \(Self.grouped(Int64(rate)))/s"
        }
        return text
    }

    /// Ends the progress: clears the live line on a terminal and prints `summary` as the one final line.
    func finish(_ summary: String) {
        write((interactive ? "\r\u{1B}[K" : "") + "\(label): \(summary)\n")
    }

    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 360_000 else { return "--:--" }
        let whole = Int(seconds.rounded(.up))
        return whole >= 3600
            ? String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
            : String(format: "%d:%02d", whole / 60, whole % 60)
    }
}

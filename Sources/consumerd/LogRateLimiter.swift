import Logging
import StreamConsumer
import Synchronization

/// The one ``LogRateLimit`` every log handler of the process consults (created by ``LogSetup/bootstrap()`` and
/// captured by the handler factory; not a global).
final class LogRateLimiter: Sendable {
    private let state: Mutex<LogRateLimit>
    private let clock: @Sendable () -> Double

    init(_ limit: LogRateLimit = LogRateLimit(), clock: @escaping @Sendable () -> Double = { Double(Clock.monotonicNanos()) / 1e9 }) {
        self.state = Mutex(limit)
        self.clock = clock
    }

    /// Summaries due now (see ``LogRateLimit/dueSummaries(now:)``).
    func dueSummaries() -> [LogRateLimit.Summary] {
        let now = clock()
        return state.withLock { $0.dueSummaries(now: now) }
    }

    func admit(label: String, level: Logger.Level, message: String, fromLibrdkafka: Bool) -> LogRateLimit.Decision {
        guard LogRateLimit.isLimited(level, fromLibrdkafka: fromLibrdkafka) else { return .emit(suppressed: 0) }
        let now = clock()
        return state.withLock {
            $0.admit(label: label, level: level, message: message, now: now, fromLibrdkafka: fromLibrdkafka)
        }
    }
}

/// Wraps a handler: lines the limiter drops are not written; the next one written carries `suppressed=N`.
struct RateLimitedLogHandler<Wrapped: LogHandler>: LogHandler {
    var wrapped: Wrapped
    let label: String
    let limiter: LogRateLimiter

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        for summary in limiter.dueSummaries() {
            wrapped.log(event: LogEvent(
                level: summary.level, message: "\(summary.message)", metadata: ["suppressed": .stringConvertible(summary.suppressed)],
                source: event.source, file: event.file, function: event.function, line: event.line))
        }
        let source = event.metadata?["source"] ?? wrapped.metadata["source"]
        let fromLibrdkafka: Bool
        if case .string("librdkafka") = source { fromLibrdkafka = true } else { fromLibrdkafka = false }
        switch limiter.admit(label: label, level: event.level, message: "\(event.message)", fromLibrdkafka: fromLibrdkafka) {
        case .drop:
            return
        case .emit(let suppressed):
            var event = event
            if suppressed > 0 {
                var metadata = event.metadata ?? [:]
                metadata["suppressed"] = .stringConvertible(suppressed)
                event.metadata = metadata
            }
            wrapped.log(event: event)
        }
    }
}

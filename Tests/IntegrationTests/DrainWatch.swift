import Foundation

/// Waits for a daemon to drain after its input stopped, and tells a slow catch-up from a stall.
///
/// A fixed deadline cannot tell them apart. After a rolling restart with eager assignment the whole group may
/// owe minutes of input, and librdkafka 2.0.2's mock cluster serves it slowly: its Fetch handler returns one
/// message set per partition per request and finds it by walking the partition's log from the start, on one
/// thread for all clients (measured: Fetch round trips of ~100 ms, the mock at 70–80 % of a core, each daemon
/// at ~0.1 core and an empty fetch queue, ~600 records/s per instance). Draining then takes longer than any
/// deadline short enough to catch a stall. Here the deadline restarts with every sign of progress — a record
/// handled, an output acknowledged, the in-flight count moving — so only an instance that stops moving for
/// `stallSeconds` fails (and one that is still not drained after `limitSeconds`).
struct DrainWatch {
    /// One scrape of the daemon's metrics.
    struct Sample: Equatable {
        var ready: Bool
        var inflight: Double
        var lagSeconds: Double
        var processed: Double
        /// Outputs whose delivery the broker confirmed (predictions; dead letters are rare enough not to matter).
        var delivered: Double

        init(ready: Bool, inflight: Double, lagSeconds: Double, processed: Double, delivered: Double) {
            self.ready = ready
            self.inflight = inflight
            self.lagSeconds = lagSeconds
            self.processed = processed
            self.delivered = delivered
        }

        /// Parses a Prometheus exposition; `nil` if a series is missing (the daemon is starting or gone).
        init?(exposition text: String) {
            guard let ready = metricValue(text, "volatility_consumer_ready"),
                let inflight = metricValue(text, "volatility_consumer_inflight_records"),
                let lag = metricValue(text, "volatility_consumer_lag_seconds"),
                let processed = metricValue(text, "volatility_consumer_messages_processed_total"),
                let delivered = metricValue(text, "volatility_consumer_predictions_made_total")
            else { return nil }
            self.init(ready: ready == 1, inflight: inflight, lagSeconds: lag, processed: processed, delivered: delivered)
        }

        /// Ready, nothing in flight, no lag: drained if it stays so (see ``quietSeconds``).
        var isIdle: Bool { ready && inflight == 0 && lagSeconds == 0 }

        /// The counters that move while the daemon works.
        var progress: [Double] { [processed, delivered, inflight] }
    }

    enum Verdict: Equatable {
        case waiting
        /// Idle and unchanged for ``quietSeconds``.
        case drained
        /// Nothing moved for `stallSeconds` while not drained.
        case stalled
        /// Still not drained after `limitSeconds`, although it kept moving.
        case limitReached
    }

    let stallSeconds: Double
    let limitSeconds: Double
    /// How long an idle daemon must stay unchanged to count as drained (as ``FaultInjectionTests/waitUntilDrained``).
    static let quietSeconds = 1.5

    private var startedAt: Double?
    private var lastProgress: [Double]?
    private var lastProgressAt = 0.0
    private var idleSince: Double?
    /// Longest time without progress so far (seconds), as far as the samples show.
    private(set) var longestQuiet = 0.0

    init(stallSeconds: Double, limitSeconds: Double) {
        self.stallSeconds = stallSeconds
        self.limitSeconds = limitSeconds
    }

    /// Feeds one scrape taken at `now` (seconds, any monotonic origin); `nil`: no answer or incomplete metrics.
    mutating func observe(_ sample: Sample?, at now: Double) -> Verdict {
        if startedAt == nil {
            startedAt = now
            lastProgressAt = now
        }
        longestQuiet = max(longestQuiet, now - lastProgressAt)
        if let sample, sample.progress != lastProgress {
            lastProgress = sample.progress
            lastProgressAt = now
            idleSince = sample.isIdle ? now : nil
        } else if let sample, sample.isIdle {
            idleSince = idleSince ?? now
        } else {
            idleSince = nil
        }
        if let idleSince, now - idleSince >= Self.quietSeconds { return .drained }
        if now - lastProgressAt >= stallSeconds { return .stalled }
        if now - (startedAt ?? now) >= limitSeconds { return .limitReached }
        return .waiting
    }

    /// Scrapes `metricsAddress` every half second until a verdict; returns it with the seconds waited and the
    /// longest time nothing moved meanwhile.
    static func wait(
        metricsAddress: String, stallSeconds: Double = 120, limitSeconds: Double = 1200
    ) -> (verdict: Verdict, seconds: Double, longestQuiet: Double) {
        var watch = DrainWatch(stallSeconds: stallSeconds, limitSeconds: limitSeconds)
        let start = Date()
        while true {
            let sample = httpGet("http://\(metricsAddress)/metrics", timeoutSeconds: 5).flatMap { Sample(exposition: $0.body) }
            let now = Date().timeIntervalSince(start)
            let verdict = watch.observe(sample, at: now)
            if verdict != .waiting { return (verdict, now, watch.longestQuiet) }
            usleep(500_000)
        }
    }
}

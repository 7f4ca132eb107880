//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Synchronization

/// The inputs of the liveness and readiness probes: written by the daemon, read by the endpoint.
///
/// Every field is a single atomic, so ``markProgress()`` — called on every processing-loop
/// iteration — costs two clock reads and two relaxed stores.
///
/// - Liveness (`/healthz`): the processing loop made progress or was idle-waiting within the last
///   ``livenessWindowSeconds``. A loop blocked inside a call (deadlock, stuck model) stops calling
///   ``markProgress()`` and the probe turns 503 after the window. Nothing else feeds it: with the
///   brokers down, fetching paused for back-pressure, no partition assigned or a state rebuild in
///   progress the loop still turns, and a restart would not help — those belong to readiness and
///   to alerts, not to a probe that gets the process killed.
///   The decision uses the monotonic clock, so a wall-clock step can neither fake nor hide a stall;
///   the wall-clock time of the last turn is kept alongside only for export
///   (``lastProgressWallSeconds()``), because alerts compare it with Prometheus' `time()`.
/// - Readiness (`/readyz`): model loaded, at least one partition assigned, broker reachable. It is
///   503 until the first assignment.
public final class HealthState: Sendable {
    /// How long the processing loop may go without ``markProgress()`` before liveness fails.
    public let livenessWindowSeconds: Double
    /// How the daemon runs (`"run"` or `"demo"`), named in the `/readyz` body and on the status page; `nil` for none.
    public let mode: String?

    private let clock: @Sendable () -> Double
    private let wallClock: @Sendable () -> Double
    private let lastProgressBits: Atomic<UInt64>
    private let lastProgressWallBits: Atomic<UInt64>
    private let modelLoaded = Atomic<Bool>(false)
    private let assignedPartitions = Atomic<Int>(0)
    private let brokerReachable = Atomic<Bool>(false)

    /// Creates the state. The processing loop counts as having made progress at creation, so
    /// liveness holds for one window while the daemon starts.
    ///
    /// - Parameters:
    ///   - livenessWindowSeconds: `LIVENESS_WINDOW_SECONDS` (default 30).
    ///   - clock: Seconds on any monotonic scale; ``MetricsClock/monotonicSeconds()`` by default.
    ///     Decides liveness.
    ///   - wallClock: Wall-clock epoch seconds; ``MetricsClock/wallSeconds()`` by default. Only
    ///     timestamps the last turn for ``lastProgressWallSeconds()``.
    public init(
        livenessWindowSeconds: Double = 30,
        mode: String? = nil,
        clock: @escaping @Sendable () -> Double = MetricsClock.monotonicSeconds,
        wallClock: @escaping @Sendable () -> Double = MetricsClock.wallSeconds
    ) {
        self.livenessWindowSeconds = livenessWindowSeconds
        self.mode = mode
        self.clock = clock
        self.wallClock = wallClock
        self.lastProgressBits = Atomic(clock().bitPattern)
        self.lastProgressWallBits = Atomic(wallClock().bitPattern)
    }

    /// The processing loop made progress or is idle-waiting (call on every loop iteration).
    public func markProgress() {
        self.lastProgressBits.store(self.clock().bitPattern, ordering: .relaxed)
        self.lastProgressWallBits.store(self.wallClock().bitPattern, ordering: .relaxed)
    }

    /// Wall-clock epoch seconds of the last ``markProgress()``, or of the creation before the first
    /// one (the same start grace liveness gives). Exported as
    /// `volatility_consumer_last_progress_timestamp_seconds`.
    public func lastProgressWallSeconds() -> Double {
        Double(bitPattern: self.lastProgressWallBits.load(ordering: .relaxed))
    }

    /// Whether the model is loaded.
    public func setModelLoaded(_ v: Bool) {
        self.modelLoaded.store(v, ordering: .relaxed)
    }

    /// The number of partitions currently assigned (0 after a revoke/lost).
    public func setAssignedPartitions(_ n: Int) {
        self.assignedPartitions.store(n, ordering: .relaxed)
    }

    /// Whether the broker is reachable (e.g. false on `ALL_BROKERS_DOWN`, true again on the next
    /// successful metadata/poll).
    public func setBrokerReachable(_ v: Bool) {
        self.brokerReachable.store(v, ordering: .relaxed)
    }

    /// Seconds since the last ``markProgress()`` (never negative).
    public func secondsSinceProgress() -> Double {
        let last = Double(bitPattern: self.lastProgressBits.load(ordering: .relaxed))
        return max(self.clock() - last, 0)
    }

    /// The liveness report: `processing_loop` is `"ok"` or `"stalled Ns"`.
    public func liveness() -> HealthReport {
        let idle = self.secondsSinceProgress()
        let alive = idle <= self.livenessWindowSeconds
        let detail = alive ? "ok" : "stalled \(Int(idle.rounded(.down)))s"
        return HealthReport(checks: [HealthCheck(name: "processing_loop", ok: alive, detail: detail)])
    }

    /// The readiness report: `model_loaded`, `partitions_assigned`, `broker_reachable`.
    public func readiness() -> HealthReport {
        let model = self.modelLoaded.load(ordering: .relaxed)
        let partitions = self.assignedPartitions.load(ordering: .relaxed)
        let broker = self.brokerReachable.load(ordering: .relaxed)
        return HealthReport(mode: self.mode, checks: [
            HealthCheck(name: "model_loaded", ok: model, detail: model ? "ok" : "model not loaded"),
            HealthCheck(
                name: "partitions_assigned",
                ok: partitions >= 1,
                detail: partitions >= 1 ? "ok" : "no partitions assigned"
            ),
            HealthCheck(name: "broker_reachable", ok: broker, detail: broker ? "ok" : "broker unreachable"),
        ])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One stretch of work between two idle points: from the first record handled after the processor was last
/// caught up to the delivery report that emptied the in-flight table, with every assigned partition at its end.
///
/// After a restart or an outage this is the time the backlog took to drain, which is what an operator asks
/// first; the benchmarks use the same figure as "first poll to last delivery report".
public struct CatchUp: Sendable, Equatable {
    /// Records handled (published, dead-lettered or skipped).
    public var records: Int
    /// Seconds from handling the first record to the last delivery report.
    public var seconds: Double
    /// CPU seconds of the whole process (every thread, user + system) over the same stretch.
    public var cpuSeconds: Double

    public init(records: Int, seconds: Double, cpuSeconds: Double) {
        self.records = records
        self.seconds = seconds
        self.cpuSeconds = cpuSeconds
    }

    /// Records per second over the stretch; 0 when it took no measurable time.
    public var recordsPerSecond: Double {
        seconds > 0 ? Double(records) / seconds : 0
    }
}

/// Accumulates one ``CatchUp`` on the processing thread.
struct CatchUpTracker {
    private var startNanos: UInt64 = 0
    private var startCPUSeconds: Double = 0
    private var lastDeliveryNanos: UInt64 = 0
    private var records = 0

    /// Counts a handled record; the first one since the last ``finish()`` starts the stretch.
    mutating func recordHandled() {
        if records == 0 {
            startNanos = Clock.monotonicNanos()
            lastDeliveryNanos = startNanos
            startCPUSeconds = Self.processCPUSeconds()
        }
        records += 1
    }

    /// Notes the time of a delivery report (already read by the caller).
    mutating func recordDelivery(atNanos nanos: UInt64) {
        lastDeliveryNanos = nanos
    }

    /// Ends the stretch and starts counting afresh.
    mutating func finish() -> CatchUp {
        defer { self = CatchUpTracker() }
        guard records > 0 else { return CatchUp(records: 0, seconds: 0, cpuSeconds: 0) }
        let end = max(lastDeliveryNanos, startNanos)
        return CatchUp(
            records: records,
            seconds: Double(end &- startNanos) / 1e9,
            cpuSeconds: max(0, Self.processCPUSeconds() - startCPUSeconds)
        )
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}

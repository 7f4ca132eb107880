//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The clocks ConsumerMetrics uses by default. Both are injectable everywhere so tests can be
/// deterministic.
public enum MetricsClock {
    /// Wall-clock time in seconds since the Unix epoch (`CLOCK_REALTIME`).
    ///
    /// Used for lag and the processing-rate window because Kafka record timestamps are epoch
    /// milliseconds.
    @Sendable
    public static func wallSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }

    /// Monotonic time in seconds (`CLOCK_MONOTONIC`), unaffected by wall-clock steps.
    ///
    /// Used for liveness so an NTP step can neither fake nor hide a stalled processing loop.
    @Sendable
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }
}

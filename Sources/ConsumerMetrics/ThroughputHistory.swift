//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

/// The last ten minutes of throughput for the status page's sparkline: a fixed ring of samples of the
/// processed-records counter, one per ``intervalSeconds``. A value type without I/O; the endpoint samples it on a
/// timer and reads it for `/status`.
struct ThroughputHistory: Sendable {
    struct Point: Sendable, Equatable {
        /// Wall-clock epoch seconds of the sample.
        var time: Double
        /// Records per second since the previous sample.
        var rate: Double
    }

    let intervalSeconds: Double
    let capacity: Int
    private(set) var points: [Point] = []
    private var last: (time: Double, total: Double)?

    init(intervalSeconds: Double = 5, windowSeconds: Double = 600) {
        self.intervalSeconds = intervalSeconds
        self.capacity = max(1, Int((windowSeconds / intervalSeconds).rounded()))
    }

    /// Records the counter's `total` at `time`. The first call only sets the baseline; a counter that went down
    /// (a restart of the source) sets a new baseline too; calls less than half an interval apart are ignored.
    mutating func sample(total: Double, at time: Double) {
        guard let last else {
            self.last = (time, total)
            return
        }
        let elapsed = time - last.time
        guard elapsed >= intervalSeconds / 2 else { return }
        guard total >= last.total else {
            self.last = (time, total)
            return
        }
        points.append(Point(time: time, rate: (total - last.total) / elapsed))
        if points.count > capacity { points.removeFirst(points.count - capacity) }
        self.last = (time, total)
    }
}

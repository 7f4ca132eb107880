//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Prometheus
import Synchronization

/// The standard `process_*` metrics, refreshed from ``ProcessStatistics`` at scrape time.
final class ProcessMetrics: Sendable {
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let cpuSeconds: Counter
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    /// The CPU seconds already added to the counter: a Prometheus counter can only be
    /// incremented, so each refresh adds the delta since the previous one.
    private let cpuReported: Mutex<Double>

    init(registry: PrometheusCollectorRegistry) {
        typealias C = MetricCatalog
        self.residentMemory = registry.makeGauge(descriptor: C.processResidentMemory.descriptor)
        self.virtualMemory = registry.makeGauge(descriptor: C.processVirtualMemory.descriptor)
        self.cpuSeconds = registry.makeCounter(descriptor: C.processCPUSeconds.descriptor)
        self.openFDs = registry.makeGauge(descriptor: C.processOpenFDs.descriptor)
        self.maxFDs = registry.makeGauge(descriptor: C.processMaxFDs.descriptor)
        self.startTime = registry.makeGauge(descriptor: C.processStartTime.descriptor)
        self.cpuReported = Mutex(0)
        self.refresh()
    }

    /// Reads `/proc/self` and updates the gauges. Unreadable values keep their previous value.
    func refresh() {
        let stats = ProcessStatistics.current()
        if let v = stats.residentMemoryBytes { self.residentMemory.set(to: v) }
        if let v = stats.virtualMemoryBytes { self.virtualMemory.set(to: v) }
        if let v = stats.openFileDescriptors { self.openFDs.set(to: v) }
        if let v = stats.maxFileDescriptors { self.maxFDs.set(to: v) }
        if let v = stats.startTimeSeconds { self.startTime.set(to: v) }
        if let total = stats.cpuSeconds {
            self.cpuReported.withLock { reported in
                if total > reported {
                    self.cpuSeconds.increment(by: total - reported)
                    reported = total
                }
            }
        }
    }
}

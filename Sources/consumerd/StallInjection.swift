import Foundation

/// A fault-injection hook for liveness tests: a record containing `marker` blocks the processing thread for
/// `seconds`, as a hung dependency would. Enabled only by `CONSUMERD_FAULT_STALL_MARKER`; off in production.
struct StallInjection: Sendable {
    var marker: [UInt8]
    var seconds: Double

    func stallIfMarked(_ value: UnsafeRawBufferPointer) {
        guard !marker.isEmpty, value.count >= marker.count else { return }
        var index = 0
        let last = value.count - marker.count
        while index <= last {
            if value[index] == marker[0], marker.indices.allSatisfy({ value[index + $0] == marker[$0] }) {
                Thread.sleep(forTimeInterval: seconds)
                return
            }
            index += 1
        }
    }
}

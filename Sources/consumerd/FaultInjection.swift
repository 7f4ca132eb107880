import Foundation

/// A byte string searched for in record values by the fault-injection hooks (test-only; off unless set).
struct ByteMarker: Sendable {
    var bytes: [UInt8]

    func occurs(in value: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty, value.count >= bytes.count else { return false }
        let last = value.count - bytes.count
        var index = 0
        while index <= last {
            if value[index] == bytes[0], bytes.indices.allSatisfy({ value[index + $0] == bytes[$0] }) { return true }
            index += 1
        }
        return false
    }
}

/// A fault-injection hook for liveness tests: a record containing `marker` blocks the processing thread for
/// `seconds`, as a hung dependency would. Enabled only by `CONSUMERD_FAULT_STALL_MARKER`; off in production.
struct StallInjection: Sendable {
    var marker: [UInt8]
    var seconds: Double

    func stallIfMarked(_ value: UnsafeRawBufferPointer) {
        if ByteMarker(bytes: marker).occurs(in: value) { Thread.sleep(forTimeInterval: seconds) }
    }
}

/// A fault-injection hook for the model fallback: the ML model's score of a record containing `marker` is
/// replaced by NaN, as a broken model would give (the loader rejects models that could). Enabled only by
/// `CONSUMERD_FAULT_NAN_MARKER`; off in production.
struct NonFiniteScoreInjection: Sendable {
    var marker: ByteMarker

    func isMarked(_ value: UnsafeRawBufferPointer) -> Bool { marker.occurs(in: value) }
}

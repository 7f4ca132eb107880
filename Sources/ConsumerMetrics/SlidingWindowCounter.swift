//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Synchronization

/// A lock-free count of events over a sliding time window, used for
/// `volatility_consumer_processing_rate`.
///
/// Time is cut into fixed slots (100 ms by default); a ring holds one packed atomic word per slot
/// (`slot number << 24 | count`). Recording is one load plus one compare-and-swap on the hot path,
/// with no allocation and no lock, so the processing thread can call it for every record. A slot
/// whose stored number is stale is simply overwritten, which is what expires old events.
///
/// The rate is defined as *events in the last `windowSeconds` / `windowSeconds`*: with the default
/// 10 s window, 50 events in the first second give 5/s until they age out, and the rate is 0 once
/// the window has been idle for 10 s. Resolution is one slot: an event ages out between
/// `windowSeconds - slotSeconds` and `windowSeconds` after it happened.
public final class SlidingWindowCounter: Sendable {
    /// One slot's packed word, boxed so the ring can be an array of atomics.
    private final class Slot: Sendable {
        let word = Atomic<UInt64>(0)
    }

    private static let countBits: UInt64 = 24
    private static let countMask: UInt64 = (1 << countBits) - 1
    /// Slot numbers are kept below 2^40 (with 100 ms slots that is ~3,500 years of epoch time).
    private static let maxSlotNumber: Double = Double(UInt64(1) << 40)

    /// The window length in seconds.
    public let windowSeconds: Double
    private let slotsPerSecond: Double
    private let slots: [Slot]

    /// Creates a window.
    ///
    /// - Parameters:
    ///   - windowSeconds: Length of the sliding window (10 s for consumerd).
    ///   - slotsPerSecond: Time resolution; the ring holds `windowSeconds * slotsPerSecond` slots.
    public init(windowSeconds: Double = 10, slotsPerSecond: Int = 10) {
        precondition(windowSeconds >= 1 && slotsPerSecond >= 1, "window must be at least one second and one slot")
        self.windowSeconds = windowSeconds
        self.slotsPerSecond = Double(slotsPerSecond)
        let count = Int((windowSeconds * Double(slotsPerSecond)).rounded(.up))
        self.slots = (0..<count).map { _ in Slot() }
    }

    /// The slot number for `time`, or `nil` for times that cannot be placed (negative, NaN, absurd).
    private func slotNumber(_ time: Double) -> UInt64? {
        let scaled = (time * self.slotsPerSecond).rounded(.down)
        guard scaled.isFinite, scaled >= 0, scaled < Self.maxSlotNumber else { return nil }
        return UInt64(scaled)
    }

    /// Records `count` events at `time` (seconds, same clock as ``count(at:)``).
    /// Times that cannot be placed are ignored.
    public func record(at time: Double, count: Int = 1) {
        guard count > 0, let number = self.slotNumber(time) else { return }
        let add = UInt64(min(count, Int(Self.countMask)))
        let slot = self.slots[Int(number % UInt64(self.slots.count))]
        var current = slot.word.load(ordering: .relaxed)
        while true {
            let desired: UInt64
            if current >> Self.countBits == number {
                let newCount = min((current & Self.countMask) + add, Self.countMask)  // saturate, never spill into the slot number
                desired = (number << Self.countBits) | newCount
            } else if current >> Self.countBits > number {
                return  // a newer slot already owns this ring position: the event is older than the window
            } else {
                desired = (number << Self.countBits) | add
            }
            let (exchanged, original) = slot.word.compareExchange(
                expected: current,
                desired: desired,
                ordering: .relaxed
            )
            if exchanged { return }
            current = original
        }
    }

    /// Events recorded in the window ending at `time`, i.e. in the last ``windowSeconds``.
    public func count(at time: Double) -> Int {
        guard let now = self.slotNumber(time) else { return 0 }
        let span = UInt64(self.slots.count)
        let oldest = now >= span - 1 ? now - (span - 1) : 0
        var total: UInt64 = 0
        for slot in self.slots {
            let word = slot.word.load(ordering: .relaxed)
            let number = word >> Self.countBits
            if number >= oldest && number <= now {
                total += word & Self.countMask
            }
        }
        return Int(total)
    }

    /// Events per second over the window ending at `time`: ``count(at:)`` / ``windowSeconds``.
    public func rate(at time: Double) -> Double {
        Double(self.count(at: time)) / self.windowSeconds
    }
}

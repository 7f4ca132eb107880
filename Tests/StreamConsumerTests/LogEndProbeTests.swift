import Foundation
@testable import StreamConsumer
import Synchronization
import Testing

/// The log-end probe, with a fake look-up the test holds and releases: one look-up at a time, asks merged while
/// one runs, answers handed back in order, and a stop that waits for the look-up in progress.
@Suite struct LogEndProbeTests {
    /// A look-up that records what it was asked and, while `holding`, waits for the test to release it.
    private final class FakeLookUp: Sendable {
        let calls = Mutex<[[Int32]]>([])
        /// What `shouldContinue` said after each call was released.
        let continued = Mutex<[Bool]>([])
        let release = DispatchSemaphore(value: 0)
        let holding: Bool

        init(holding: Bool) { self.holding = holding }

        func callAsFunction(_ ids: [Int32], _ shouldContinue: () -> Bool) -> LogEnds {
            calls.withLock { $0.append(ids) }
            if holding { release.wait() }
            continued.withLock { $0.append(shouldContinue()) }
            return LogEnds(ends: Dictionary(uniqueKeysWithValues: ids.map { ($0, Int64($0) * 10) }))
        }

        var callCount: Int { calls.withLock { $0.count } }
    }

    private func answers(_ probe: LogEndProbe, count: Int) -> [LogEndProbe.Answer] {
        var taken: [LogEndProbe.Answer] = []
        _ = waitUntil(timeoutSeconds: 30) {
            taken += probe.takeAnswers()
            return taken.count >= count
        }
        return taken
    }

    @Test func answerCarriesTheRequestAndTheEnds() {
        let lookUp = FakeLookUp(holding: false)
        let woken = Atomic<Int>(0)
        let probe = LogEndProbe(lookUp: { lookUp($0.partitions, $1) }, onAnswer: { woken.add(1, ordering: .relaxed) })
        defer { probe.stop() }
        #expect(probe.takeAnswers() == [])
        probe.ask(.init(forLag: [2, 1]))
        let taken = answers(probe, count: 1)
        #expect(taken == [.init(request: .init(forLag: [1, 2]), ends: LogEnds(ends: [1: 10, 2: 20]))])
        #expect(lookUp.calls.withLock { $0 } == [[1, 2]])
        // The wake-up comes just after the answer is posted.
        let wokenOnce = waitUntil(timeoutSeconds: 30) { woken.load(ordering: .relaxed) == 1 }
        #expect(wokenOnce)
        #expect(!probe.isBusy)
    }

    /// While a look-up runs, asks wait and are merged into one; the loop sees the probe busy meanwhile.
    @Test func asksWhileALookUpRunsAreMergedIntoTheNext() {
        let lookUp = FakeLookUp(holding: true)
        let probe = LogEndProbe(lookUp: { lookUp($0.partitions, $1) })
        defer {
            lookUp.release.signal()
            probe.stop()
        }
        probe.ask(.init(forLag: [0]))
        #expect(waitUntil(timeoutSeconds: 30) { lookUp.callCount == 1 })
        #expect(probe.isBusy)
        probe.ask(.init(forWatch: [3]))
        probe.ask(.init(forLag: [1], forWatch: [0]))
        lookUp.release.signal()
        #expect(waitUntil(timeoutSeconds: 30) { lookUp.callCount == 2 })
        lookUp.release.signal()
        let taken = answers(probe, count: 2)
        #expect(lookUp.calls.withLock { $0 } == [[0], [0, 1, 3]])
        #expect(taken.map(\.request) == [.init(forLag: [0]), .init(forLag: [1], forWatch: [0, 3])])
        #expect(waitUntil(timeoutSeconds: 30) { !probe.isBusy })
    }

    /// Stop waits for the look-up in progress, which is told not to go on; later asks are ignored.
    @Test func stopWaitsForTheLookUpInProgressAndRefusesLaterAsks() {
        let lookUp = FakeLookUp(holding: true)
        let probe = LogEndProbe(lookUp: { lookUp($0.partitions, $1) })
        probe.ask(.init(forLag: [5]))
        #expect(waitUntil(timeoutSeconds: 30) { lookUp.callCount == 1 })
        probe.beginStop()
        // What the look-up had finished when stop returned: -1 until it returns.
        let finishedAtStop = Atomic<Int>(-1)
        let stopperRunning = Atomic<Bool>(false)
        let stopper = Thread {
            stopperRunning.store(true, ordering: .releasing)
            probe.stop()
            finishedAtStop.store(lookUp.continued.withLock { $0.count }, ordering: .releasing)
        }
        stopper.start()
        let running = waitUntil(timeoutSeconds: 30) { stopperRunning.load(ordering: .acquiring) }
        #expect(running)
        // While the look-up is held, stop must not return: given a fifth of a second to (wrongly) do so.
        let returnedWhileHeld = waitUntil(timeoutSeconds: 0.2) { finishedAtStop.load(ordering: .acquiring) >= 0 }
        #expect(!returnedWhileHeld, "stop returned while the look-up in progress was still held")
        lookUp.release.signal()
        let returned = waitUntil(timeoutSeconds: 30) { finishedAtStop.load(ordering: .acquiring) >= 0 }
        #expect(returned)
        let finished = finishedAtStop.load(ordering: .acquiring)
        #expect(finished == 1, "stop returned before the look-up in progress ended")
        #expect(lookUp.continued.withLock { $0 } == [false])
        probe.ask(.init(forLag: [6]))
        probe.stop()  // idempotent
        #expect(lookUp.callCount == 1)
        #expect(!probe.isBusy)
    }
}

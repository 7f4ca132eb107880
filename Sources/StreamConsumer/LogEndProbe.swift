import Foundation
import Synchronization

/// Looks up where partitions' logs end on a thread of its own, so the processing loop never waits for a broker.
///
/// The look-up is a broker round trip: bounded, but with a broker down it waits out its timeout (and, for the
/// partitions of the others, asks again leader by leader; ``LogEndQuery``). On the loop that was seconds of every
/// few with no fetching, no delivery reports and no commits while a broker was down. The loop asks here and takes
/// the answers on a later pass; its engine already treats an answer as news about a moment past (an end only grows).
///
/// One look-up runs at a time. Asks made meanwhile are merged into the next one.
final class LogEndProbe: Sendable {
    /// What the partitions' ends are wanted for.
    struct Request: Sendable, Equatable {
        /// For `lag_records` (``EngineDriver/refreshLogEnds(now:)``).
        var forLag: Set<Int32> = []
        /// For the fetch watch (``EngineAction/lookUpEnds(_:)``).
        var forWatch: Set<Int32> = []
        /// Of ``forLag``, the partitions whose log start is wanted too: nothing handled or committed there, and
        /// `auto.offset.reset` earliest, so their lag counts from the log start (read on every look-up: a fetch
        /// may never have told it, and retention moves it).
        var startsFor: Set<Int32> = []
        /// Every broker was down at the last word: any answer says one is back (with no partitions to look up,
        /// a metadata request asks).
        var brokerCheck = false

        var isEmpty: Bool { forLag.isEmpty && forWatch.isEmpty && !brokerCheck }
        var partitions: [Int32] { forLag.union(forWatch).sorted() }

        mutating func merge(_ other: Request) {
            forLag.formUnion(other.forLag)
            forWatch.formUnion(other.forWatch)
            startsFor.formUnion(other.startsFor)
            brokerCheck = brokerCheck || other.brokerCheck
        }
    }

    struct Answer: Sendable, Equatable {
        var request: Request
        var ends: LogEnds
    }

    /// The probe's life, as both threads see it under the lock.
    private enum Phase: Sendable {
        /// Waiting for a request.
        case waiting
        /// A look-up is running; asks meanwhile wait in `next`.
        case looking
        /// Stopped: asks are refused, the thread has ended or ends after the look-up in progress.
        case stopped
    }

    private struct State: Sendable {
        var phase = Phase.waiting
        var next = Request()
        var answers: [Answer] = []
    }

    private let state = Mutex(State())
    /// Set with `answers` non-empty: lets the loop look without taking the lock.
    private let hasAnswers = Atomic<Bool>(false)
    private let work = DispatchSemaphore(value: 0)
    /// Signalled once by the thread as it ends; each ``stop()`` takes it and gives it back.
    private let ended = DispatchSemaphore(value: 0)
    private let lookUp: @Sendable (Request, _ shouldContinue: () -> Bool) -> LogEnds
    private let onAnswer: @Sendable () -> Void

    /// `lookUp`: the broker call (``LogEndQuery/ends(client:topic:partitions:timeoutMs:shouldContinue:)``);
    /// `onAnswer`: called on the probe's thread after each answer (the loop's wake-up).
    init(
        name: String = "log-end-probe", lookUp: @escaping @Sendable (Request, _ shouldContinue: () -> Bool) -> LogEnds,
        onAnswer: @escaping @Sendable () -> Void = {}
    ) {
        self.lookUp = lookUp
        self.onAnswer = onAnswer
        let thread = Thread { [self] in
            ThreadNaming.nameCurrentThread(name)
            self.serve()
        }
        thread.start()
    }

    private func serve() {
        while true {
            work.wait()
            let request: Request? = state.withLock { state in
                guard state.phase == .waiting, !state.next.isEmpty else { return nil }
                state.phase = .looking
                defer { state.next = Request() }
                return state.next
            }
            if state.withLock({ $0.phase == .stopped }) {
                ended.signal()
                return
            }
            guard let request else { continue }
            let ends = lookUp(request) { self.state.withLock { $0.phase != .stopped } }
            let stopped = state.withLock { state in
                state.answers.append(Answer(request: request, ends: ends))
                guard state.phase != .stopped else { return true }
                state.phase = .waiting
                if !state.next.isEmpty { work.signal() }
                return false
            }
            hasAnswers.store(true, ordering: .releasing)
            onAnswer()
            if stopped {
                ended.signal()
                return
            }
        }
    }

    /// Asks for the ends of partitions: merged into the look-up not started yet, if any. Ignored after ``stop()``.
    func ask(_ request: Request) {
        guard !request.isEmpty else { return }
        let wake = state.withLock { state -> Bool in
            guard state.phase != .stopped else { return false }
            let wasEmpty = state.next.isEmpty
            state.next.merge(request)
            return state.phase == .waiting && wasEmpty
        }
        if wake { work.signal() }
    }

    /// Whether a look-up is running or asked for: the loop does not ask for lag's ends again meanwhile.
    var isBusy: Bool {
        state.withLock { $0.phase == .looking || !$0.next.isEmpty }
    }

    /// The answers since the last call, oldest first (cheap when there are none: one atomic load).
    func takeAnswers() -> [Answer] {
        guard hasAnswers.load(ordering: .acquiring) else { return [] }
        return state.withLock { state in
            hasAnswers.store(false, ordering: .relaxed)
            defer { state.answers.removeAll() }
            return state.answers
        }
    }

    /// Refuses further asks and tells the thread to end: at once if it waits, else after the call in progress (the
    /// look-up asks `shouldContinue` between calls, so at most one more call, ``LogEndQuery/callTimeoutMs``).
    /// ``stop()`` waits for that; calling this first lets the wait overlap other shutdown work.
    func beginStop() {
        let running = state.withLock { state -> Bool in
            guard state.phase != .stopped else { return false }
            state.phase = .stopped
            return true
        }
        if running { work.signal() }
    }

    /// ``beginStop()``, then waits until the thread no longer uses the client. Idempotent, from any thread: each
    /// caller waits for the thread's end and passes the signal on to the next.
    func stop() {
        beginStop()
        ended.wait()
        ended.signal()
    }
}

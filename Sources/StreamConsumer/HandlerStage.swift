import Foundation
import Synchronization

/// Runs the record handler on a thread of its own, one ``RecordBatch`` at a time, so that decoding, scoring and
/// encoding batch N+1 overlaps with the processing loop producing batch N's outputs, serving delivery reports
/// and fetching (a two-stage pipeline: the loop alone was the bottleneck, one core busy and the other idle).
///
/// The handler is still used by one thread at a time: the stage's thread between ``submit(_:)`` and the end of
/// the batch, the processing thread otherwise (state resets and rebuilds run after ``quiesce()``). It is not
/// thread-safe and need not be.
///
/// A thread of our own rather than a dispatch queue or tasks: the hand-off happens once per batch on the hot path
/// and must not queue behind other work or allocate; two semaphore operations per batch are all it costs.
final class HandlerStage: @unchecked Sendable {
    // Unchecked: `batch` and `stopping` are written by the processing thread only while the stage's thread waits
    // for `start`, and read by that thread only after `start` was signalled; the processing thread reads what
    // the stage's thread wrote only after `done` was signalled. `phase` is the processing thread's alone. The
    // two semaphores order every access to shared state.

    /// Where the batch is, as the processing thread knows it.
    enum Phase: Equatable {
        /// No batch in the stage: ``submit(_:)`` may hand one over.
        case idle
        /// The stage's thread is deciding a batch.
        case deciding
        /// The batch is decided and waits to be taken back with ``take(into:)``.
        case decided
        /// The thread has ended (``stop()``).
        case stopped
    }

    private(set) var phase: Phase = .idle
    /// Records in the batch the stage holds (0 when it holds none); the processing thread's, like `phase`.
    private(set) var heldCount = 0
    private var batch: RecordBatch
    private var stopping = false
    private let handler: any RecordHandler
    private let start = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    /// Set by the stage's thread when it finished a batch (before `done` is signalled), cleared at each
    /// ``submit(_:)``: lets the processing thread see without waiting that the stage is ready for more.
    private let decidedFlag = Atomic<Bool>(false)
    /// Called on the stage's thread after each batch (the processing loop's wake-up).
    private let onDecided: @Sendable () -> Void
    private let name: String

    /// `spare`: the (empty) batch the stage holds until the first ``submit(_:)`` gives it back.
    init(
        handler: any RecordHandler, spare: RecordBatch, name: String = "handler-stage",
        onDecided: @escaping @Sendable () -> Void = {}
    ) {
        self.handler = handler
        self.batch = spare
        self.name = name
        self.onDecided = onDecided
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    private func serve() {
        // `top -H`, /proc and profilers tell the stage apart from the processing thread.
        ThreadNaming.nameCurrentThread(name)
        while true {
            start.wait()
            if stopping {
                done.signal()
                return
            }
            batch.decide(with: handler)
            decidedFlag.store(true, ordering: .releasing)
            done.signal()
            onDecided()
        }
    }

    /// Whether a batch is in the stage (being decided, or decided and not taken back).
    var holdsBatch: Bool { phase == .deciding || phase == .decided }

    /// Whether the stage could take a batch without the processing thread waiting: it holds none, or it has
    /// finished deciding the one it holds (``take(into:)`` returns at once). Cheap (one atomic load), for the
    /// processing thread to hand over work as soon as the stage is free.
    var isReady: Bool {
        switch phase {
        case .idle, .decided: true
        case .deciding: decidedFlag.load(ordering: .acquiring)
        case .stopped: false
        }
    }

    /// Hands `next` to the stage's thread; `next` gets the stage's empty batch (its storage) in exchange.
    func submit(_ next: inout RecordBatch) {
        precondition(phase == .idle, "a batch is already in the stage")
        heldCount = next.count
        decidedFlag.store(false, ordering: .relaxed)
        swap(&batch, &next)
        phase = .deciding
        start.signal()
    }

    /// Waits until the stage's thread is not using the handler (the batch in the stage, if any, is decided). The
    /// handler may then be used on the calling thread until the next ``submit(_:)``.
    func quiesce() {
        guard phase == .deciding else { return }
        done.wait()
        phase = .decided
    }

    /// Takes the decided batch back (waiting for it) into `empty`, whose storage the stage keeps; returns
    /// whether there was one.
    @discardableResult
    func take(into empty: inout RecordBatch) -> Bool {
        quiesce()
        guard phase == .decided else { return false }
        swap(&batch, &empty)
        heldCount = 0
        phase = .idle
        return true
    }

    /// Ends the thread, after the batch in it (if any) was decided; a batch not taken back stays unread.
    func stop() {
        quiesce()
        guard phase != .stopped else { return }
        stopping = true
        start.signal()
        done.wait()
        phase = .stopped
    }
}

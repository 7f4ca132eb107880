import Crdkafka

#if canImport(Glibc)
import Glibc
#endif

/// Lets the processing thread sleep until *either* client has something to serve.
///
/// librdkafka writes a byte to a pipe whenever one of the registered queues goes from empty to non-empty
/// (`rd_kafka_queue_io_event_enable`); the loop blocks in `poll(2)` on that pipe instead of blocking inside one
/// client's poll call while the other client's events wait. A fetched record is therefore handled as soon as it
/// arrives even while delivery reports are outstanding, and a delivery report is served as soon as it arrives
/// even while no record is.
///
/// The protocol that makes this lossless: ``wait(timeoutMs:)`` empties the pipe when it returns, and the caller
/// then serves both queues until they are empty before waiting again. An element enqueued after a queue was
/// found empty writes a new byte, so the next wait returns at once.
final class QueueWakeup {
    private let readEnd: Int32
    private let writeEnd: Int32
    private var queues: [OpaquePointer] = []

    /// Creates the pipe; `nil` if the system refuses one (the caller then sleeps in timed polls instead).
    init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    /// Registers `queue` (a final, non-forwarded queue; the wakeup takes over the reference and releases it in
    /// ``unregisterAll()``).
    func register(_ queue: OpaquePointer) {
        var payload: UInt8 = 1
        rd_kafka_queue_io_event_enable(queue, writeEnd, &payload, 1)
        queues.append(queue)
    }

    /// Blocks until a registered queue had an element enqueued, or `timeoutMs` passed; then empties the pipe.
    func wait(timeoutMs: Int32) {
        var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, timeoutMs) > 0 { drain() }
    }

    /// Wakes a ``wait(timeoutMs:)`` from another thread (the handler stage, when it finished a batch). Usable
    /// until the wakeup is deinitialised: whoever holds it must stop calling it before the clients go away.
    var signal: WakeupSignal { WakeupSignal(descriptor: writeEnd) }

    private func drain() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let size = MemoryLayout.size(ofValue: buffer)
        while withUnsafeMutableBytes(of: &buffer, { read(readEnd, $0.baseAddress, size) }) == size {}
    }

    /// Stops the event writes and releases the queues; call before the clients are destroyed.
    func unregisterAll() {
        for queue in queues {
            rd_kafka_queue_io_event_enable(queue, -1, nil, 0)
            rd_kafka_queue_destroy(queue)
        }
        queues.removeAll()
    }

    deinit {
        unregisterAll()
        close(readEnd)
        close(writeEnd)
    }
}

/// Writes one byte to a ``QueueWakeup``'s pipe; `write(2)` on a pipe is safe from any thread, and the pipe is
/// non-blocking (a full pipe already wakes the waiter).
struct WakeupSignal: Sendable {
    let descriptor: Int32

    func callAsFunction() {
        var byte: UInt8 = 1
        _ = write(descriptor, &byte, 1)
    }
}

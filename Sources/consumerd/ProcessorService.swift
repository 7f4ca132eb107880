import Foundation
import ServiceLifecycle
import StreamConsumer

/// Runs the blocking ``StreamProcessor`` loop on a thread of its own inside the service group.
///
/// librdkafka's poll calls block, so the loop must not run on the cooperative thread pool. Graceful shutdown
/// (SIGTERM/SIGINT) or cancellation asks the loop to stop; ``run()`` returns when the processor has flushed,
/// committed and left the group.
final class ProcessorService: Service, Sendable {
    private let processor: StreamProcessor

    init(processor: StreamProcessor) {
        self.processor = processor
    }

    func run() async throws {
        let processor = self.processor
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        // As the kernel and `top -H` see it (Foundation's `name` below does not reach it on Linux).
                        ThreadNaming.nameCurrentThread("consumerd-loop")
                        do {
                            try processor.run()
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.name = "consumerd-processing"
                    thread.start()
                }
            } onCancel: {
                processor.requestStop()
            }
        } onGracefulShutdown: {
            processor.requestStop()
        }
    }
}

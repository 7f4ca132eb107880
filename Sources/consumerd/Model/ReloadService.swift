import Foundation
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reloads the models on `SIGHUP`, for as long as the daemon runs.
///
/// ``trapHangUps()`` is the first thing the daemon does, before it prints anything: from then on SIGHUP never
/// ends the process (the default action would, without a flush, commit or group exit), whether it comes at
/// start-up, during a rebalance or during shutdown. Signals that arrive before this service runs are kept and
/// served when it starts; after graceful shutdown began they are taken and ignored. The daemon keeps the
/// sequence alive until it exits.
struct ReloadService: Service {
    let manager: ModelManager
    let hangUps: UnixSignalsSequence

    /// Ignores SIGHUP, then traps it into a sequence that buffers every signal until it is read.
    static func trapHangUps() async -> UnixSignalsSequence {
        signal(SIGHUP, SIG_IGN)
        return await UnixSignalsSequence(trapping: .sighup)
    }

    func run() async throws {
        for await _ in hangUps.cancelOnGracefulShutdown() {
            _ = await manager.reload(trigger: .signal)
        }
    }
}

/// SIGTERM and SIGINT trapped from the first moment, as SIGHUP is: the service group traps them only once it runs,
/// so a stop requested during start-up would otherwise kill the process with the signal's default action.
/// ``run(_:signals:)`` runs the group and turns a signal caught here, before or after the group started, into its
/// graceful shutdown.
enum StopSignals {
    static func trap() async -> UnixSignalsSequence {
        await UnixSignalsSequence(trapping: .sigterm, .sigint)
    }

    static func run(_ group: ServiceGroup, signals: UnixSignalsSequence) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                for await _ in signals {
                    await group.triggerGracefulShutdown()
                    return
                }
            }
            try await group.run()
            tasks.cancelAll()
        }
    }
}

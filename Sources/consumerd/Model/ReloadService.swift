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

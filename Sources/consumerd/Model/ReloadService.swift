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
/// ``ignoreHangUp()`` is the first thing the daemon does, before it prints anything: from then on SIGHUP never
/// ends the process (the default action would, without a flush, commit or group exit), whether it comes at
/// start-up, during a rebalance or during shutdown. This service then turns each SIGHUP into a reload.
struct ReloadService: Service {
    let manager: ModelManager

    /// Sets SIGHUP to be ignored until ``run()`` handles it (and it stays so after the service ends).
    static func ignoreHangUp() {
        signal(SIGHUP, SIG_IGN)
    }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            _ = await manager.reload(trigger: .signal)
        }
    }
}

//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import NIOCore
import Synchronization

/// Tracks the endpoint's open client connections: enforces the connection cap and closes
/// every connection on shutdown (closing the listening socket does not close accepted ones).
final class ConnectionTracker: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var shutDown = false
    }

    private let maxConnections: Int
    private let state = Mutex(State())

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Registers `channel`; returns `false` (the caller closes it) when at capacity or shut down.
    func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = self.state.withLock { state -> Bool in
            guard !state.shutDown, state.channels.count < self.maxConnections else { return false }
            state.channels[id] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in
                self.state.withLock { _ = $0.channels.removeValue(forKey: id) }
            }
        }
        return admitted
    }

    /// The number of open client connections.
    var count: Int {
        self.state.withLock { $0.channels.count }
    }

    /// Refuses new connections and closes all open ones.
    func closeAll() {
        let channels = self.state.withLock { state -> [any Channel] in
            state.shutDown = true
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.close(promise: nil)
        }
    }
}

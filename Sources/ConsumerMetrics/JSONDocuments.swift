//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Synchronization

/// Read-only JSON documents other components serve on the metrics port (e.g. `GET /model`), rendered at
/// request time by their providers (which must be quick and must not block: they run on an event loop).
public final class JSONDocuments: Sendable {
    public typealias Provider = @Sendable () -> [UInt8]

    private let providers = Mutex<[String: Provider]>([:])

    public init() {}

    /// Serves `provider`'s bytes (a JSON document) on `GET path`.
    public func register(path: String, provider: @escaping Provider) {
        providers.withLock { $0[path] = provider }
    }

    func render(path: Substring) -> [UInt8]? {
        guard let provider = providers.withLock({ $0[String(path)] }) else { return nil }
        return provider()
    }
}

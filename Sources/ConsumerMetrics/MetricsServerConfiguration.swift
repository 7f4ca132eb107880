//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

/// Where and how the metrics/probe endpoint listens.
///
/// The daemon reads `METRICS_HOST` / `METRICS_PORT` from the environment and passes them in; this
/// module never reads the environment itself.
public struct MetricsServerConfiguration: Sendable, Hashable {
    /// Interface to bind (`METRICS_HOST`, default `0.0.0.0`).
    public var host: String = "0.0.0.0"
    /// TCP port (`METRICS_PORT`, default 8001); 0 picks a free port (see ``MetricsServer/bind()``).
    public var port: Int = 8001
    /// Per-connection resource bounds.
    public var limits: Limits = Limits()

    /// Bounds that keep a slow, idle or hostile client from growing memory or holding resources.
    public struct Limits: Sendable, Hashable {
        /// Maximum bytes of request headers (all names and values, and any single field).
        /// Larger requests get 431 and the connection is closed.
        public var maxHeaderBytes: Int = 8 * 1024
        /// Maximum request body bytes; the endpoints take no body, a small one is tolerated and
        /// ignored. Larger requests get 413 and the connection is closed.
        public var maxBodyBytes: Int = 1024
        /// Seconds a connection may take to deliver a complete request (or sit idle between
        /// keep-alive requests) before it is closed.
        public var requestTimeoutSeconds: Double = 10
        /// Maximum simultaneously open client connections; further connections are closed at once.
        public var maxConnections: Int = 64

        /// Creates the default limits.
        public init() {}
    }

    /// Creates a configuration.
    public init(host: String = "0.0.0.0", port: Int = 8001) {
        self.host = host
        self.port = port
    }

    /// Creates a configuration with explicit limits.
    public init(host: String, port: Int, limits: Limits) {
        self.host = host
        self.port = port
        self.limits = limits
    }
}

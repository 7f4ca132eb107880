//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

/// Why the metrics endpoint could not start. Descriptions name the environment variable to fix.
public enum MetricsServerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Another process (or another consumerd) already listens on the port.
    case portInUse(host: String, port: Int, reason: String)
    /// Binding failed for another reason (bad `METRICS_HOST`, port out of range, permission, …).
    case bindFailed(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case .portInUse(let host, let port, let reason):
            return "METRICS_PORT \(port) is already in use on \(host): \(reason) "
                + "(stop the other process or set METRICS_PORT to a free port)"
        case .bindFailed(let host, let port, let reason):
            return "cannot listen on METRICS_HOST \(host) METRICS_PORT \(port): \(reason) "
                + "(check METRICS_HOST is a local address and METRICS_PORT is 0-65535)"
        }
    }
}

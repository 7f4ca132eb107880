//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

/// A complete response of the metrics endpoint, independent of the transport.
struct MetricsResponse: Sendable {
    var status: Int
    var contentType: String
    var body: [UInt8]
    var extraHeaders: [(String, String)] = []

    static let textContentType = "text/plain; charset=utf-8"

    static func text(_ status: Int, _ message: String) -> MetricsResponse {
        MetricsResponse(status: status, contentType: textContentType, body: Array((message + "\n").utf8))
    }
}

/// Routes a request to `/metrics`, the probes, or an error. Pure apart from reading the
/// metrics/health state, so it is unit-testable without a socket.
struct MetricsResponder: Sendable {
    /// The Prometheus text exposition format 0.0.4 content type.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    static let jsonContentType = "application/json"
    static let htmlContentType = "text/html; charset=utf-8"

    let metrics: ConsumerMetrics
    let health: HealthState
    var documents = JSONDocuments()

    /// - Parameters:
    ///   - method: The request method (`GET`, `HEAD`, …).
    ///   - uri: The request target; any query string is ignored.
    func respond(method: String, uri: String) -> MetricsResponse {
        guard method == "GET" || method == "HEAD" else {
            var response = MetricsResponse.text(405, "method not allowed: only GET and HEAD are supported")
            response.extraHeaders.append(("Allow", "GET, HEAD"))
            return response
        }
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch path {
        case "/metrics":
            self.mirrorProbes()
            return MetricsResponse(status: 200, contentType: Self.metricsContentType, body: self.metrics.render())
        case "/healthz", "/health":
            let report = self.health.liveness()
            self.metrics.setHealthy(report.ok)
            return Self.json(report)
        case "/readyz":
            let report = self.health.readiness()
            self.metrics.setReady(report.ok)
            return Self.json(report)
        case "/", "/index.html":
            return MetricsResponse(status: 200, contentType: Self.htmlContentType, body: StatusPage.html)
        case "/status":
            self.mirrorProbes()
            let document = self.metrics.status(health: self.health)
            return MetricsResponse(status: 200, contentType: Self.jsonContentType, body: Array((document.json() + "\n").utf8))
        default:
            if let body = self.documents.render(path: path) {
                return MetricsResponse(status: 200, contentType: Self.jsonContentType, body: body)
            }
            return .text(404, "not found: try /, /status, /metrics, /healthz or /readyz")
        }
    }

    /// Makes `volatility_consumer_health_status` / `_ready` agree with what the probes would say now,
    /// and exports the time of the processing loop's last turn.
    private func mirrorProbes() {
        self.metrics.setHealthy(self.health.liveness().ok)
        self.metrics.setReady(self.health.readiness().ok)
        self.metrics.setLastProgressTimestamp(self.health.lastProgressWallSeconds())
    }

    private static func json(_ report: HealthReport) -> MetricsResponse {
        MetricsResponse(
            status: report.httpStatusCode,
            contentType: jsonContentType,
            body: Array((report.json() + "\n").utf8)
        )
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP to one MLflow tracking server, with bounded time per request and a cap on the bytes it accepts.
///
/// Foundation's `URLSession` (FoundationNetworking over the system libcurl on Linux) rather than async-http-client:
/// it ships with the toolchain, so the registry adds no package and no second TLS stack (async-http-client pulls
/// swift-nio-ssl with its BoringSSL copy) to compile on a 2-core CI, and this client makes a handful of requests
/// per reload, where an event-loop HTTP client buys nothing.
struct MLflowHTTP: Sendable {
    /// The tracking server, e.g. `http://127.0.0.1:5000` or `https://host/mlflow` (a path prefix is kept).
    let base: URL
    let auth: RegistryAuth
    let limits: RegistryLimits
    private let session: URLSession

    init(base: URL, auth: RegistryAuth, limits: RegistryLimits) {
        self.base = base
        self.auth = auth
        self.limits = limits
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = limits.requestTimeoutSeconds
        configuration.timeoutIntervalForResource = limits.totalTimeoutSeconds
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpShouldSetCookies = false
        self.session = URLSession(configuration: configuration)
    }

    /// Ends the session (its tasks are all finished by then).
    func close() {
        session.finishTasksAndInvalidate()
    }

    /// The base address without user info, for messages.
    var displayBase: String { Self.display(base) }

    static func display(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "<url>" }
        components.user = nil
        components.password = nil
        return components.string ?? "<url>"
    }

    /// `GET base/path?query`.
    func get(_ path: String, query: [(String, String)] = []) async throws(RegistryError) -> Data {
        let url = try self.url(path, query: query)
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        return try await send(request)
    }

    /// `POST base/path` with a JSON body.
    func post(_ path: String, json body: Data) async throws(RegistryError) -> Data {
        let url = try self.url(path, query: [])
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        return try await send(request)
    }

    func url(_ path: String, query: [(String, String)]) throws(RegistryError) -> URL {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += path
        if !query.isEmpty {
            text += "?" + query.map { "\(Self.encodeQuery($0.0))=\(Self.encodeQuery($0.1))" }.joined(separator: "&")
        }
        guard let url = URL(string: text) else {
            throw .invalidResponse(url: displayBase, reason: "cannot form a request address from '\(path)'")
        }
        return url
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters (so `+`, `&`, `=` and `/` in a model name or
    /// artifact path survive Flask's query decoding).
    static func encodeQuery(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// Percent-encodes each `/`-separated segment of an artifact path.
    static func encodePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true)
            .map { String($0).addingPercentEncoding(withAllowedCharacters: unreserved) ?? String($0) }
            .joined(separator: "/")
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private func send(_ request: URLRequest) async throws(RegistryError) -> Data {
        var request = request
        request.timeoutInterval = limits.requestTimeoutSeconds
        if let header = auth.headerValue { request.setValue(header, forHTTPHeaderField: "Authorization") }
        let shown = request.url.map(Self.display) ?? displayBase
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let error as URLError {
            throw .unreachable(url: shown, reason: error.code == .timedOut
                ? "no answer within \(Int(limits.requestTimeoutSeconds)) s"
                : error.localizedDescription)
        } catch {
            throw .unreachable(url: shown, reason: "\(error)")
        }
        guard let http = response as? HTTPURLResponse else {
            throw .invalidResponse(url: shown, reason: "not an HTTP response")
        }
        if data.count > limits.maxResponseBytes {
            throw .artifactTooLarge(path: shown, limit: limits.maxResponseBytes)
        }
        switch http.statusCode {
        case 200..<300:
            return data
        case 401, 403:
            throw .unauthorized(url: shown, status: http.statusCode)
        default:
            let (code, message) = Self.mlflowError(data)
            if http.statusCode == 404 || code == "RESOURCE_DOES_NOT_EXIST" {
                throw .notFound(url: shown, message: message)
            }
            throw .httpStatus(url: shown, status: http.statusCode, message: code.map { "\($0): \(message)" } ?? message)
        }
    }

    /// MLflow's error body `{"error_code": "...", "message": "..."}`; otherwise the body's first 200 characters.
    static func mlflowError(_ data: Data) -> (code: String?, message: String) {
        struct Body: Decodable {
            var error_code: String?
            var message: String?
        }
        if let body = try? JSONDecoder().decode(Body.self, from: data), body.error_code != nil || body.message != nil {
            return (body.error_code, body.message ?? "")
        }
        let text = String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (nil, text.isEmpty ? "(empty body)" : text)
    }
}

/// Bounds on registry traffic, so a dead or hostile server cannot hang or exhaust a reload.
public struct RegistryLimits: Sendable, Equatable {
    /// Per request: no answer (or no further bytes) for this long fails the request (a whole download may take up
    /// to ``totalTimeoutSeconds``).
    public var requestTimeoutSeconds: Double
    /// Largest response or artifact accepted.
    public var maxResponseBytes: Int
    /// Most files listed in a model's artifact directory.
    public var maxArtifacts: Int
    /// The whole registry attempt (all its requests): past this the cache or file stands in.
    public var totalTimeoutSeconds: Double

    public init(requestTimeoutSeconds: Double = 10, maxResponseBytes: Int = 64 << 20, maxArtifacts: Int = 1000, totalTimeoutSeconds: Double = 30) {
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
        self.maxResponseBytes = maxResponseBytes
        self.maxArtifacts = maxArtifacts
    }
}

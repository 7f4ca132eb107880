//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// What the admin listener does with an authorised request (the daemon implements it).
public protocol AdminHandling: Sendable {
    /// Handles `POST path` with `body`; returns the status code and a JSON body.
    func handle(path: String, body: [UInt8]) async -> (status: Int, json: [UInt8])
}

/// The admin listener (`ADMIN_HOST:ADMIN_PORT`, off unless a token is configured), as a service.
///
/// Separate from the metrics port so that scraping never grants control. Every request needs
/// `Authorization: Bearer <token>` (401 otherwise, compared in constant time); only `POST` is served; bodies over
/// 64 KiB get 413; one request per connection, answered within ``requestTimeoutSeconds`` or the connection is
/// closed. Built on NIO's async channels (the daemon already runs NIO for `:8001`; no second HTTP stack).
public final class AdminServer: Service, Sendable {
    public static let maxBodyBytes = 64 * 1024
    public static let requestTimeoutSeconds: Int64 = 15

    private let host: String
    private let port: Int
    private let authorization: AdminAuthorization
    private let handler: any AdminHandling
    private let logger: Logger
    private let bound: Mutex<NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>?>

    public init(host: String, port: Int, token: [UInt8], handler: any AdminHandling, logger: Logger) {
        self.host = host
        self.port = port
        self.authorization = AdminAuthorization(token: token)
        self.handler = handler
        self.logger = logger
        self.bound = Mutex(nil)
    }

    /// Listens now (so a bad address stops start-up); returns the bound port.
    public func bind() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        bound.withLock { $0 = channel }
        return channel.channel.localAddress?.port ?? port
    }

    public func run() async throws {
        if bound.withLock({ $0 }) == nil { _ = try await bind() }
        guard let server = bound.withLock({ $0 }) else { return }
        let authorization = self.authorization
        let handler = self.handler
        let logger = self.logger
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            await Self.serve(connection, authorization: authorization, handler: handler, logger: logger)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        authorization: AdminAuthorization, handler: any AdminHandling, logger: Logger
    ) async {
        _ = try? await connection.executeThenClose { inbound, outbound in
            let response = await withTaskGroup(of: (Int, [UInt8])?.self) { group in
                group.addTask { await readAndHandle(inbound, authorization: authorization, handler: handler) }
                group.addTask {
                    try? await Task.sleep(for: .seconds(requestTimeoutSeconds))
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let (status, body) = response else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.count))
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "Connection", value: "close")
            if status == 401 { headers.add(name: "WWW-Authenticate", value: "Bearer") }
            try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
            try await outbound.write(.end(nil))
        }
    }

    private static func readAndHandle(
        _ inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>, authorization: AdminAuthorization,
        handler: any AdminHandling
    ) async -> (Int, [UInt8])? {
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        do {
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                case .body(let buffer):
                    guard body.count + buffer.readableBytes <= maxBodyBytes else { return error(413, "request body over 64 KiB") }
                    body.append(contentsOf: buffer.readableBytesView)
                case .end:
                    guard let head else { return error(400, "bad request") }
                    guard authorization.allows(head.headers.first(name: "authorization")) else {
                        return error(401, "missing or wrong bearer token")
                    }
                    guard head.method == .POST else { return error(405, "use POST") }
                    let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                    return await handler.handle(path: path, body: body)
                }
            }
        } catch {
            return nil
        }
        return nil
    }

    private static func error(_ status: Int, _ message: String) -> (Int, [UInt8]) {
        (status, Array("{\"error\":\"\(message)\"}\n".utf8))
    }
}

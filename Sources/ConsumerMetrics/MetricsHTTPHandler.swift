//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1

/// Serves one client connection of the metrics endpoint.
///
/// Responses are produced synchronously on the connection's event loop (rendering is a copy of
/// atomics plus a few `/proc` reads), so requests are answered in order and nothing is queued.
/// Bounds: request bodies over `maxBodyBytes` → 413 and close; header overflow or an oversized
/// request → 431 and close; malformed requests → 400 and close; no complete request within
/// `requestTimeoutSeconds` (also between keep-alive requests) → close.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Reading a request's body (which is ignored, but counted).
        case receiving(HTTPRequestHead, bodyBytes: Int)
        /// A final response was sent; the connection is closing and further input is ignored.
        case closing
    }

    private let responder: MetricsResponder
    private let limits: MetricsServerConfiguration.Limits
    private let budget: RequestByteBudgetHandler
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    init(responder: MetricsResponder, limits: MetricsServerConfiguration.Limits, budget: RequestByteBudgetHandler) {
        self.responder = responder
        self.limits = limits
        self.budget = budget
    }

    func channelActive(context: ChannelHandlerContext) {
        self.armDeadline(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
        self.state = .closing
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (Self.unwrapInboundIn(data), self.state) {
        case (_, .closing):
            return

        case (.head(let head), .idle):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > self.limits.maxBodyBytes {
                self.finish(context: context, head: head, response: .text(413, "request body too large"), keepAlive: false)
                return
            }
            self.state = .receiving(head, bodyBytes: 0)

        case (.body(let body), .receiving(let head, let bodyBytes)):
            let total = bodyBytes + body.readableBytes
            guard total <= self.limits.maxBodyBytes else {
                self.finish(context: context, head: head, response: .text(413, "request body too large"), keepAlive: false)
                return
            }
            self.state = .receiving(head, bodyBytes: total)

        case (.end, .receiving(let head, _)):
            self.budget.requestCompleted()
            let response = self.responder.respond(method: head.method.rawValue, uri: head.uri)
            self.finish(context: context, head: head, response: response, keepAlive: head.isKeepAlive)

        case (.head, .receiving), (.body, .idle), (.end, .idle):
            // The decoder never produces these sequences; treat as a protocol error.
            self.finish(context: context, head: nil, response: .text(400, "bad request"), keepAlive: false)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if case .closing = self.state {
            return
        }
        switch error {
        case let parserError as HTTPParserError where parserError == .headerOverflow:
            self.finish(context: context, head: nil, response: .text(431, "request headers too large"), keepAlive: false)
        case is RequestTooLargeError:
            self.finish(context: context, head: nil, response: .text(431, "request too large"), keepAlive: false)
        case is HTTPParserError:
            self.finish(context: context, head: nil, response: .text(400, "bad request"), keepAlive: false)
        default:
            self.state = .closing
            context.close(promise: nil)
        }
    }

    /// Writes `response`; then either waits for the next keep-alive request or closes.
    private func finish(context: ChannelHandlerContext, head: HTTPRequestHead?, response: MetricsResponse, keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in response.extraHeaders {
            headers.add(name: name, value: value)
        }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        }
        let version = head?.version ?? .http1_1
        let responseHead = HTTPResponseHead(
            version: version,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers
        )
        context.write(Self.wrapOutboundOut(.head(responseHead)), promise: nil)
        if head?.method != .HEAD && !response.body.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: response.body)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            self.state = .idle
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
            self.armDeadline(context: context)
        } else {
            self.state = .closing
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    /// (Re)starts the timer within which the next complete request must arrive.
    private func armDeadline(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        let nanoseconds = Int64((self.limits.requestTimeoutSeconds * 1_000_000_000).rounded())
        self.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension MetricsHTTPHandler: Sendable {}

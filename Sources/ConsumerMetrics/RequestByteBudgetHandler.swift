//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

import NIOCore

/// Raised into the pipeline when a client sends more bytes for one request than the endpoint
/// will ever buffer for it (oversized request line, headers or body).
struct RequestTooLargeError: Error {}

/// Caps the raw bytes a connection may send for a single request, in front of the HTTP decoder.
///
/// The decoder bounds header fields itself, but not the request line; this handler bounds
/// everything so no client can make the server buffer more than `limit` bytes per request.
/// Bytes up to the budget are forwarded (so the decoder can still see, e.g., a `Content-Length`
/// that earns a precise 413), then ``RequestTooLargeError`` is fired and further input is dropped.
/// ``MetricsHTTPHandler`` calls ``requestCompleted()`` after each complete request.
final class RequestByteBudgetHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limit: Int
    private var used = 0
    private var exhausted = false

    init(limit: Int) {
        self.limit = limit
    }

    /// Starts a fresh budget for the next request on this connection.
    func requestCompleted() {
        self.used = 0
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.exhausted else { return }
        var buffer = Self.unwrapInboundIn(data)
        let remaining = self.limit - self.used
        if buffer.readableBytes <= remaining {
            self.used += buffer.readableBytes
            context.fireChannelRead(data)
            return
        }
        self.exhausted = true
        if remaining > 0, let prefix = buffer.readSlice(length: remaining) {
            context.fireChannelRead(Self.wrapInboundOut(prefix))
        }
        context.fireErrorCaught(RequestTooLargeError())
    }
}

@available(*, unavailable)
extension RequestByteBudgetHandler: Sendable {}

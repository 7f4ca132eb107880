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

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `:8001` endpoint — `GET /metrics`, `/healthz` (alias `/health`) and `/readyz` — as a
/// swift-service-lifecycle `Service`.
///
/// It runs on swift-nio event-loop threads, never on the processing thread, so a slow or stuck
/// scrape cannot stall record processing; and the processing thread only ever touches atomics,
/// so it cannot stall a scrape.
///
/// Lifecycle: ``bind()`` listens immediately and reports a typed error (so the daemon can exit 2
/// before connecting to Kafka); ``run()`` serves on that channel (binding first if ``bind()`` was
/// not called) until graceful shutdown or task cancellation, then closes the listener and every
/// client connection and returns.
public final class MetricsServer: Service, Sendable {
    private enum State: Sendable {
        case idle
        case bound(any Channel, port: Int)
        case stopped
    }

    /// The configuration passed at init.
    public let configuration: MetricsServerConfiguration

    private let responder: MetricsResponder
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let onListening: @Sendable (_ host: String, _ port: Int) -> Void
    private let connections: ConnectionTracker
    private let state = Mutex(State.idle)
    private let metrics: ConsumerMetrics
    /// Samples the throughput history of the status page every ``throughputSampleSeconds`` while bound.
    private let sampler = Mutex<RepeatedTask?>(nil)
    static let throughputSampleSeconds: Int64 = 5

    /// Creates the server; nothing is bound until ``bind()`` or ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: Host, port (0 = any free port) and per-connection limits.
    ///   - metrics: The metrics served on `/metrics`.
    ///   - health: The probe inputs served on `/healthz` and `/readyz`, mirrored into the
    ///     `volatility_consumer_health_status` / `_ready` gauges at every scrape; the time of the
    ///     loop's last turn goes to `volatility_consumer_last_progress_timestamp_seconds`.
    ///   - logger: Logs listening/stopping events.
    ///   - eventLoopGroup: Where the endpoint's I/O runs; NIO's shared singleton by default.
    ///   - documents: Further JSON documents served on `GET` (e.g. `/model`).
    ///   - onListening: Called once with the bound host and port when the socket is listening.
    public init(
        configuration: MetricsServerConfiguration,
        metrics: ConsumerMetrics,
        health: HealthState,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        documents: JSONDocuments = JSONDocuments(),
        onListening: @escaping @Sendable (_ host: String, _ port: Int) -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        self.responder = MetricsResponder(metrics: metrics, health: health, documents: documents)
        self.metrics = metrics
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onListening = onListening
        self.connections = ConnectionTracker(maxConnections: configuration.limits.maxConnections)
    }

    /// The bound port, or `nil` before ``bind()`` / after shutdown.
    public var boundPort: Int? {
        self.state.withLock { state in
            if case .bound(_, let port) = state { return port }
            return nil
        }
    }

    /// Binds and starts listening now, so a bad `METRICS_HOST`/`METRICS_PORT` fails fast before
    /// the daemon starts Kafka. Idempotent: later calls return the same port.
    ///
    /// - Returns: The bound port (the chosen one when the configured port is 0).
    /// - Throws: ``MetricsServerError/portInUse(host:port:reason:)`` when the port is taken,
    ///   ``MetricsServerError/bindFailed(host:port:reason:)`` otherwise.
    @discardableResult
    public func bind() async throws(MetricsServerError) -> Int {
        let host = self.configuration.host
        let port = self.configuration.port
        switch self.state.withLock({ $0 }) {
        case .bound(_, let boundPort):
            return boundPort
        case .stopped:
            throw .bindFailed(host: host, port: port, reason: "the metrics server has already shut down")
        case .idle:
            break
        }
        guard (0...65535).contains(port) else {
            throw .bindFailed(host: host, port: port, reason: "port must be between 0 and 65535")
        }

        let channel: any Channel
        do {
            channel = try await self.makeBootstrap().bind(host: host, port: port).get()
        } catch {
            throw Self.classify(error, host: host, port: port)
        }
        let actualPort = channel.localAddress?.port ?? port

        let won = self.state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .bound(channel, port: actualPort)
            return true
        }
        if won {
            let metrics = self.metrics
            let task = channel.eventLoop.scheduleRepeatedTask(
                initialDelay: .zero, delay: .seconds(Self.throughputSampleSeconds)
            ) { _ in
                metrics.sampleThroughput(now: MetricsClock.wallSeconds())
            }
            self.sampler.withLock { $0 = task }
            self.logger.info(
                "metrics endpoint listening",
                metadata: ["metrics.host": "\(host)", "metrics.port": .stringConvertible(actualPort)]
            )
            self.onListening(host, actualPort)
            return actualPort
        }
        // A concurrent bind() won the race, or the server was shut down meanwhile.
        try? await channel.close()
        switch self.state.withLock({ $0 }) {
        case .bound(_, let existing):
            return existing
        case .idle, .stopped:
            throw .bindFailed(host: host, port: port, reason: "the metrics server has already shut down")
        }
    }

    /// Serves until graceful shutdown or cancellation, then closes the listener and all client
    /// connections. Binds first if ``bind()`` was not called (throwing ``MetricsServerError``).
    public func run() async throws {
        _ = try await self.bind()
        guard case .bound(let channel, _) = self.state.withLock({ $0 }) else { return }

        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
        self.state.withLock { $0 = .stopped }
        self.sampler.withLock { task in
            task?.cancel()
            task = nil
        }
        self.connections.closeAll()
        try? await channel.closeFuture.get()
        self.logger.info("metrics endpoint stopped")
    }

    // MARK: Internals

    private func makeBootstrap() -> ServerBootstrap {
        let responder = self.responder
        let limits = self.configuration.limits
        let connections = self.connections
        // Everything buffered for one request: headers + body + room for the request line.
        let requestBudget = limits.maxHeaderBytes + limits.maxBodyBytes + 2048
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldCount = 100
        let decoderLimitConfiguration = decoderLimits

        return ServerBootstrap(group: self.eventLoopGroup)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                guard connections.admit(channel) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let budget = RequestByteBudgetHandler(limit: requestBudget)
                    let sync = channel.pipeline.syncOperations
                    // Stop reading while responses are not being consumed (bounded write buffer).
                    try sync.addHandler(BackPressureHandler())
                    try sync.addHandler(budget)
                    try sync.configureHTTPServerPipeline(
                        position: .last,
                        withPipeliningAssistance: false,
                        withServerUpgrade: nil,
                        withErrorHandling: false,
                        withOutboundHeaderValidation: true,
                        withEncoderConfiguration: .init(),
                        withDecoderLimitConfiguration: decoderLimitConfiguration
                    )
                    try sync.addHandler(MetricsHTTPHandler(responder: responder, limits: limits, budget: budget))
                }
            }
    }

    private static func classify(_ error: any Error, host: String, port: Int) -> MetricsServerError {
        if let ioError = error as? IOError {
            let reason = String(cString: strerror(ioError.errnoCode)) + " (errno \(ioError.errnoCode))"
            if ioError.errnoCode == EADDRINUSE {
                return .portInUse(host: host, port: port, reason: reason)
            }
            return .bindFailed(host: host, port: port, reason: reason)
        }
        return .bindFailed(host: host, port: port, reason: "\(error)")
    }
}

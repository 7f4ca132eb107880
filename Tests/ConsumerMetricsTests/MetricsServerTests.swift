//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetricsTests
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import ConsumerMetrics

#if canImport(Glibc)
import Glibc
#endif

/// The endpoint on a real socket bound to 127.0.0.1, port 0.
@Suite struct MetricsServerTests {
    struct Fixture {
        let clock = ManualClock(1_000)
        let metrics = makeMetrics()
        let health: HealthState

        init() {
            self.health = HealthState(livenessWindowSeconds: 30, clock: self.clock.closure)
        }
    }

    /// Runs a server for the duration of `body`, then cancels it and waits for `run()` to return.
    func withServer(
        _ fixture: Fixture,
        limits: MetricsServerConfiguration.Limits = .init(),
        _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let server = MetricsServer(
            configuration: MetricsServerConfiguration(host: "127.0.0.1", port: 0, limits: limits),
            metrics: fixture.metrics,
            health: fixture.health,
            logger: Logger(label: "test.metrics-server")
        )
        let port = try await server.bind()
        #expect(port > 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            try await body(port)
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test func metricsEndpointServesTheTextFormat() async throws {
        let fixture = Fixture()
        fixture.metrics.recordProcessed(at: 1_700_000_000)
        try await withServer(fixture) { port in
            let response = try #require(try RawHTTPClient.get(port: port, path: "/metrics"))
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.body.contains("volatility_consumer_messages_processed_total 1"))
            #expect(Int(response.header("Content-Length") ?? "") == response.body.utf8.count)
        }
    }

    @Test func readinessIs503UntilAssignedThen200() async throws {
        let fixture = Fixture()
        try await withServer(fixture) { port in
            let before = try #require(try RawHTTPClient.get(port: port, path: "/readyz"))
            #expect(before.status == 503)
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(before.body.utf8)) as? [String: Any]
            )
            #expect(json["status"] as? String == "fail")
            let checks = try #require(json["checks"] as? [String: String])
            #expect(Set(checks.keys) == ["model_loaded", "partitions_assigned", "broker_reachable"])
            #expect(before.header("Content-Type") == "application/json")

            fixture.health.setModelLoaded(true)
            fixture.health.setBrokerReachable(true)
            fixture.health.setAssignedPartitions(1)
            let after = try #require(try RawHTTPClient.get(port: port, path: "/readyz"))
            #expect(after.status == 200)
            let okJSON = try #require(
                try JSONSerialization.jsonObject(with: Data(after.body.utf8)) as? [String: Any]
            )
            #expect(okJSON["status"] as? String == "ok")

            // The gauge mirrors the probe at scrape time.
            let scrape = try #require(try RawHTTPClient.get(port: port, path: "/metrics"))
            #expect(Exposition(scrape.body).samples["volatility_consumer_ready"] == 1)
        }
    }

    @Test func livenessFollowsProgressWithinTheWindow() async throws {
        let fixture = Fixture()
        try await withServer(fixture) { port in
            for path in ["/healthz", "/health"] {
                let ok = try #require(try RawHTTPClient.get(port: port, path: path))
                #expect(ok.status == 200, "\(path)")
                #expect(ok.body.contains(#""processing_loop":"ok""#))
            }
            fixture.clock.advance(by: 31)
            for path in ["/healthz", "/health"] {
                let stalled = try #require(try RawHTTPClient.get(port: port, path: path))
                #expect(stalled.status == 503, "\(path)")
                let json = try #require(
                    try JSONSerialization.jsonObject(with: Data(stalled.body.utf8)) as? [String: Any]
                )
                #expect(json["status"] as? String == "fail")
                #expect((json["checks"] as? [String: String])?["processing_loop"] == "stalled 31s")
            }
            let scrape = try #require(try RawHTTPClient.get(port: port, path: "/metrics"))
            #expect(Exposition(scrape.body).samples["volatility_consumer_health_status"] == 0)

            fixture.health.markProgress()
            let again = try #require(try RawHTTPClient.get(port: port, path: "/healthz"))
            #expect(again.status == 200)
        }
    }

    @Test func unknownPathsAndMethods() async throws {
        try await withServer(Fixture()) { port in
            #expect(try RawHTTPClient.get(port: port, path: "/nope")?.status == 404)
            let post = try #require(try RawHTTPClient.get(port: port, path: "/metrics", method: "POST"))
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET, HEAD")
            #expect(try RawHTTPClient.get(port: port, path: "/metrics", method: "DELETE")?.status == 405)
            #expect(try RawHTTPClient.get(port: port, path: "/metrics?x=1")?.status == 200)
        }
    }

    @Test func headAnswersHeadersWithoutBody() async throws {
        try await withServer(Fixture()) { port in
            let head = try #require(try RawHTTPClient.get(port: port, path: "/metrics", method: "HEAD"))
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect((Int(head.header("Content-Length") ?? "") ?? 0) > 0)
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer(Fixture()) { port in
            let fd = try RawHTTPClient.connect(port: port, timeoutSeconds: 20)
            defer { close(fd) }
            for path in ["/healthz", "/metrics", "/readyz"] {
                RawHTTPClient.sendAll(fd, Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                let response = try #require(RawHTTPClient.readOneResponse(fd))
                #expect([200, 503].contains(response.status), "\(path)")
            }
        }
    }

    @Test func oversizedHeadersAreRejectedWithoutCrashing() async throws {
        try await withServer(Fixture()) { port in
            let big = String(repeating: "a", count: 16 * 1024)
            let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n"
            let response = try RawHTTPClient.exchange(port: port, request: Array(request.utf8))
            if let response {
                #expect(response.status == 431)
            }  // else: the connection was closed, which is also a rejection

            let manyHeaders = (0..<500).map { "X-H\($0): v\r\n" }.joined()
            let second = try RawHTTPClient.exchange(
                port: port,
                request: Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\(manyHeaders)\r\n".utf8)
            )
            if let second { #expect(second.status == 431) }

            let longURL = "GET /" + String(repeating: "u", count: 64 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n"
            let third = try RawHTTPClient.exchange(port: port, request: Array(longURL.utf8))
            if let third { #expect([400, 414, 431].contains(third.status)) }

            // The server is still healthy.
            #expect(try RawHTTPClient.get(port: port, path: "/metrics")?.status == 200)
        }
    }

    @Test func oversizedBodiesGet413() async throws {
        try await withServer(Fixture()) { port in
            let body = String(repeating: "b", count: 100 * 1024)
            let request = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let response = try RawHTTPClient.exchange(port: port, request: Array(request.utf8))
            if let response { #expect(response.status == 413) }

            let chunked = "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "800\r\n" + String(repeating: "c", count: 0x800) + "\r\n0\r\n\r\n"
            let second = try RawHTTPClient.exchange(port: port, request: Array(chunked.utf8))
            if let second { #expect(second.status == 413) }

            // A small body on a GET is tolerated and ignored.
            let small = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
            #expect(try RawHTTPClient.exchange(port: port, request: Array(small.utf8))?.status == 200)
        }
    }

    @Test func idleClientsAreDisconnected() async throws {
        var limits = MetricsServerConfiguration.Limits()
        limits.requestTimeoutSeconds = 0.5
        try await withServer(Fixture(), limits: limits) { port in
            let fd = try RawHTTPClient.connect(port: port, timeoutSeconds: 30)
            defer { close(fd) }
            RawHTTPClient.sendAll(fd, Array("GET /metrics HTTP/1.1\r\nHo".utf8))  // never finishes
            // The server closes the connection: recv returns 0 (EOF), not -1 (the 30 s client timeout).
            var byte: UInt8 = 0
            var n: Int
            repeat { n = recv(fd, &byte, 1, 0) } while n < 0 && errno == EINTR
            #expect(n == 0, "expected EOF from the server, got recv=\(n) errno=\(errno)")
        }
    }

    @Test func portInUseIsATypedError() async throws {
        let fixture = Fixture()
        let first = MetricsServer(
            configuration: .init(host: "127.0.0.1", port: 0),
            metrics: fixture.metrics,
            health: fixture.health,
            logger: Logger(label: "test")
        )
        let port = try await first.bind()
        let second = MetricsServer(
            configuration: .init(host: "127.0.0.1", port: port),
            metrics: fixture.metrics,
            health: fixture.health,
            logger: Logger(label: "test")
        )
        do {
            _ = try await second.bind()
            Issue.record("binding a port in use succeeded")
        } catch {
            guard case .portInUse(let host, let reportedPort, _) = error else {
                Issue.record("expected portInUse, got \(error)")
                return
            }
            #expect(host == "127.0.0.1")
            #expect(reportedPort == port)
            #expect(error.description.hasPrefix("METRICS_PORT \(port) is already in use on 127.0.0.1: "))
        }
        // run() on the failed server rethrows the typed error instead of hanging.
        await #expect(throws: MetricsServerError.self) { try await second.run() }

        // Clean up the first server: run it and cancel it.
        let task = Task { try await first.run() }
        task.cancel()
        try await task.value
    }

    @Test func badHostIsABindFailure() async throws {
        let fixture = Fixture()
        let server = MetricsServer(
            configuration: .init(host: "256.1.1.1", port: 0),
            metrics: fixture.metrics,
            health: fixture.health,
            logger: Logger(label: "test")
        )
        await #expect(throws: MetricsServerError.self) { try await server.bind() }
        let outOfRange = MetricsServer(
            configuration: .init(host: "127.0.0.1", port: 70_000),
            metrics: fixture.metrics,
            health: fixture.health,
            logger: Logger(label: "test")
        )
        do {
            _ = try await outOfRange.bind()
            Issue.record("port 70000 was accepted")
        } catch {
            guard case .bindFailed = error else {
                Issue.record("expected bindFailed, got \(error)")
                return
            }
        }
    }

    @Test func runsInAServiceGroupAndStopsOnGracefulShutdown() async throws {
        let fixture = Fixture()
        let listening = AsyncStream<Int>.makeStream()
        let server = MetricsServer(
            configuration: .init(host: "127.0.0.1", port: 0),
            metrics: fixture.metrics,
            health: fixture.health,
            logger: Logger(label: "test"),
            onListening: { _, port in listening.continuation.yield(port) }
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "test.group"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var ports = listening.stream.makeAsyncIterator()
            let port = try #require(await ports.next())
            #expect(try RawHTTPClient.get(port: port, path: "/metrics")?.status == 200)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()  // run() returned
            #expect(server.boundPort == nil)
            // The listener is closed: connecting now fails.
            #expect(throws: RawHTTPClientError.self) { _ = try RawHTTPClient.connect(port: port, timeoutSeconds: 5) }
        }
    }
}

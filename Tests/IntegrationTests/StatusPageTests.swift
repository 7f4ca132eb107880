import Foundation
import Testing

/// The status page (GET /) in a real headless Chromium (Debian's `chromium`; `CHROMIUM` overrides the path).
///
/// Chromium is driven through its command line, not the DevTools protocol: `--dump-dom` with
/// `--virtual-time-budget` prints the DOM once the page's scripts have run for that much virtual time — and
/// virtual time does not advance while a fetch is pending, so the printed DOM holds the figures of a completed
/// `/status` request. Each run is one process whose exit says it is done: no WebSocket client, no port to find,
/// nothing left running. The test repeats the dump until the figures appear (generous deadline), then compares
/// them with `/metrics` of the same idle daemon, and takes a screenshot the same way (`--screenshot`).
@Suite(.serialized) struct StatusPageTests {
    static func chromium() -> String? {
        if let path = ProcessInfo.processInfo.environment["CHROMIUM"] { return path }
        return ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs Chromium headless on `url` with `arguments`; returns its standard output (nil when it failed or hung).
    static func runChromium(_ executable: String, _ arguments: [String], url: String, timeoutSeconds: Double = 90) throws -> String? {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("consumerd-chromium-\(UUID().uuidString)")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("consumerd-chromium-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: profile)
            try? FileManager.default.removeItem(at: output)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // Root in a container: no sandbox; no GPU; a private profile so parallel runs do not share a lock.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)"]
            + arguments + [url]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard waitUntil(timeoutSeconds: timeoutSeconds, { !process.isRunning }) else {
            process.terminate()
            return nil
        }
        guard process.terminationStatus == 0 else { return nil }
        return try String(contentsOf: output, encoding: .utf8)
    }

    /// `data-value` of the element with `id`.
    static func figure(_ dom: String, _ id: String) -> String? {
        guard let range = dom.range(of: #"id="\#(id)"[^>]*data-value="([^"]*)""#, options: .regularExpression) else { return nil }
        let match = String(dom[range])
        guard let start = match.range(of: #"data-value=""#) else { return nil }
        return String(match[start.upperBound...].dropLast())
    }

    /// `data-key` → `data-value` of the cells of table `id`.
    static func table(_ dom: String, _ id: String) -> [String: String] {
        guard let open = dom.range(of: #"<table id="\#(id)">"#), let close = dom.range(of: "</table>", range: open.upperBound..<dom.endIndex) else { return [:] }
        let body = String(dom[open.upperBound..<close.lowerBound])
        var cells: [String: String] = [:]
        let regex = try! NSRegularExpression(pattern: #"data-key="([^"]*)" data-value="([^"]*)""#)
        for match in regex.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
            guard let key = Range(match.range(at: 1), in: body), let value = Range(match.range(at: 2), in: body) else { continue }
            cells[String(body[key])] = String(body[value])
        }
        return cells
    }

    @Test func statusPageShowsTheFiguresOfMetrics() throws {
        let chromium = try #require(Self.chromium(), "chromium not installed (apt-get install chromium; .ci/run installs it)")
        let cluster = try MockClusterProcess(partitions: 2)
        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "replay failed: \(replay.stderr)")
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="), "no METRICS line: \(daemon.stderr)")
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "the daemon never went idle: \(daemon.stderr.suffix(2000))")
        let exposition = try #require(httpGet("http://\(metrics)/metrics")?.body)
        let processed = try #require(metricValue(exposition, "volatility_consumer_messages_processed_total"))
        #expect(processed == Double(DaemonIntegrationTests.fixtureLineCount))

        var dom = ""
        let loaded = waitUntil(timeoutSeconds: 180) {
            dom = (try? Self.runChromium(chromium, ["--virtual-time-budget=5000", "--dump-dom"], url: "http://\(metrics)/")) ?? nil ?? ""
            return Self.figure(dom, "processed").flatMap(Double.init) == processed
        }
        #expect(loaded, "the page never showed the processed count: \(dom.prefix(3000))")

        func same(_ shown: String?, _ series: String) {
            let expected = metricValue(exposition, series)
            #expect(shown.flatMap(Double.init) == expected, "\(series): page \(shown ?? "nil"), /metrics \(expected.map { "\($0)" } ?? "nil")")
        }
        same(Self.figure(dom, "predictions"), "volatility_consumer_predictions_made_total")
        same(Self.figure(dom, "assigned"), "volatility_consumer_assigned_partitions")
        same(Self.figure(dom, "inflight"), "volatility_consumer_inflight_records")
        same(Self.figure(dom, "lag-seconds"), "volatility_consumer_lag_seconds")
        for (key, value) in Self.table(dom, "skips") {
            same(value, #"volatility_consumer_records_skipped_total{reason="\#(key)"}"#)
        }
        for (key, value) in Self.table(dom, "errors") {
            same(value, #"volatility_consumer_errors_total{error_type="\#(key)"}"#)
        }
        for (key, value) in Self.table(dom, "dead-letters") {
            same(value, #"volatility_consumer_dlq_records_total{error_type="\#(key)"}"#)
        }
        // Every labelled series is on the page, none missing.
        func series(_ family: String) -> Int { exposition.split(separator: "\n").filter { $0.hasPrefix(family + "{") }.count }
        #expect(Self.table(dom, "skips").count == series("volatility_consumer_records_skipped_total"))
        #expect(Self.table(dom, "errors").count == series("volatility_consumer_errors_total"))
        #expect(Self.table(dom, "dead-letters").count == series("volatility_consumer_dlq_records_total"))
        #expect(!Self.table(dom, "errors").isEmpty)
        // Positive rate = positives / all delivered predictions, as the page computes it from /status.
        let positive = metricValue(exposition, #"volatility_consumer_predictions_total{variant="ml",prediction="1"}"#) ?? -1
        let negative = metricValue(exposition, #"volatility_consumer_predictions_total{variant="ml",prediction="0"}"#) ?? -1
        let rate = try #require(Self.figure(dom, "positive-rate").flatMap(Double.init))
        #expect(abs(rate - positive / (positive + negative)) < 1e-12)
        #expect(Self.figure(dom, "proc-p50").flatMap(Double.init) != nil && Self.figure(dom, "e2e-p99").flatMap(Double.init) != nil)
        #expect(Self.figure(dom, "mode") == "run")
        #expect(dom.contains(#"id="daemon-table""#) && dom.contains(#"data-key="input_topic" data-value="ticks.features""#))
        // The lifecycle panel follows GET /model: shown with the active model when it answers 200, hidden on 404.
        let model = httpGet("http://\(metrics)/model")
        if model?.status == 200 {
            #expect(!dom.contains(#"<section id="model-lifecycle" hidden"#), "the model panel is hidden although /model answers")
            let lifecycle = Self.table(dom, "model-lifecycle-table")
            #expect(lifecycle["variant"] == "ml" && lifecycle["shadow"] == "none" && lifecycle["fallback"] != nil, "\(lifecycle)")
        } else {
            #expect(model?.status == 404)
            #expect(dom.contains(#"<section id="model-lifecycle" hidden="""#), "the model panel is shown without /model")
        }

        let screenshot = ProcessInfo.processInfo.environment["STATUS_SCREENSHOT"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("consumerd-status-\(UUID().uuidString).png").path
        let shot = try Self.runChromium(chromium, [
            "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1280,1000", "--screenshot=\(screenshot)",
        ], url: "http://\(metrics)/")
        #expect(shot != nil, "the screenshot run failed")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "not a PNG screenshot")
        print("status page screenshot: \(screenshot)")
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }
}

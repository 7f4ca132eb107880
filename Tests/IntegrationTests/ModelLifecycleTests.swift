import FeaturePipeline
import Foundation
import StreamConsumer
import Testing

/// The model as a live part of the daemon: SIGHUP reloads, the fallback, shadow scoring and the admin listener,
/// through the real binary against librdkafka's mock cluster.
@Suite(.serialized) struct ModelLifecycleTests {
    static let mlPath = TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path
    static let baselinePath = TestPaths.repositoryRoot.appendingPathComponent("config/models/baseline.json").path

    /// A scratch directory for configuration files and broken models.
    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("consumerd-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    static func start(_ cluster: MockClusterProcess, _ extra: [String: String]) throws -> (ChildProcess, String) {
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: extra))
        guard let address = daemon.waitForLine(prefix: "METRICS=") else {
            throw TestFailure("no METRICS line: \(daemon.stderr.suffix(2000))")
        }
        return (daemon, address)
    }

    /// `GET /model` as JSON.
    static func model(_ address: String) -> [String: Any]? {
        guard let body = httpGet("http://\(address)/model")?.body else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    }

    static func activeVariant(_ address: String) -> String? {
        (model(address)?["active"] as? [String: Any])?["variant"] as? String
    }

    static func metric(_ address: String, _ series: String) -> Double {
        metricValue(httpGet("http://\(address)/metrics")?.body ?? "", series) ?? -1
    }

    static func outputs(_ bootstrap: String, topic: String = "ticks.predictions", atLeast count: Int) throws -> [PublishedPrediction] {
        let reader = try TopicReader(bootstrapServers: bootstrap, topic: topic)
        try reader.start()
        var records = reader.read(timeoutSeconds: 120) { $0.count >= count }
        records += reader.poll(timeoutMs: 500)
        return try records.map { try JSONDecoder().decode(PublishedPrediction.self, from: Data($0.value)) }
    }

    /// The fixture's outcomes in offset order with the bundled models.
    static func fixturePredictions() throws -> [(offset: Int, line: [UInt8], prediction: Prediction)] {
        let lines = try ReferenceData.tickLines()
        return try ReferenceData.expectedOutcomes().enumerated().compactMap { index, outcome in
            guard case .prediction(let prediction) = outcome else { return nil }
            return (index, lines[index], prediction)
        }
    }

    // MARK: Reload

    @Test func reloadUnderLoadSwitchesModelsBetweenRecordsAndKeepsTheModelOnABadFile() throws {
        // 60k records over 24 partitions keep each output partition (~650 bytes per prediction) far below the
        // mock cluster's ~5 MiB retention, so the audit sees every output.
        let partitions = 24
        let records = 60_000
        let directory = try Self.scratch()
        let config = directory.appendingPathComponent("model.json")
        try Self.write("{}", to: config)
        let cluster = try MockClusterProcess(partitions: partitions)
        let (daemon, address) = try Self.start(cluster, ["MODEL_CONFIG_FILE": config.path])
        let replay = try ChildProcess(
            name: "replay",
            arguments: [
                "replay", ReferenceData.tickFile.path, "--bootstrap-servers", cluster.bootstrap, "--rate", "6000",
                "--loop", "--products", "64", "--count", String(records),
            ]
        )
        try #require(waitUntil(timeoutSeconds: 60) { Self.metric(address, "volatility_consumer_predictions_made_total") > 1000 },
                     "no predictions: \(daemon.stderr.suffix(1500))")

        // Three times ml → baseline → ml while records stream; each switch is bracketed by when the signal was
        // sent and when /model showed the new model.
        var switches: [(variant: String, sent: Double, seen: Double)] = []
        for variant in ["baseline", "ml", "baseline", "ml", "baseline", "ml"] {
            let made = Self.metric(address, "volatility_consumer_predictions_made_total")
            try Self.write(#"{"variant":"\#(variant)"}"#, to: config)
            let sent = Date().timeIntervalSince1970
            kill(daemon.process.processIdentifier, SIGHUP)
            try #require(waitUntil(timeoutSeconds: 30) { Self.activeVariant(address) == variant }, "the reload to \(variant) never showed")
            switches.append((variant, sent, Date().timeIntervalSince1970))
            // Let records flow under this model before the next switch.
            try #require(waitUntil(timeoutSeconds: 60) { Self.metric(address, "volatility_consumer_predictions_made_total") > made + 2000 })
        }
        #expect(Self.metric(address, #"volatility_consumer_model_reloads_total{result="ok"}"#) == 6)

        // A corrupt model file: the model in force stays, the error is counted and logged naming the file.
        let broken = directory.appendingPathComponent("broken.json")
        try Self.write(#"{"learner": {"gradient_booster": "#, to: broken)
        try Self.write(#"{"variant":"ml","model_path":"\#(broken.path)"}"#, to: config)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(waitUntil(timeoutSeconds: 30) { Self.metric(address, #"volatility_consumer_model_reloads_total{result="error"}"#) == 1 })
        #expect(Self.activeVariant(address) == "ml")
        let lastReload = Self.model(address)?["last_reload"] as? [String: Any]
        #expect(lastReload?["result"] as? String == "error" && (lastReload?["error"] as? String ?? "").contains(broken.path))
        #expect(daemon.stderr.contains("model reload failed") && daemon.stderr.contains(broken.path))

        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "replay: \(replay.stderr.suffix(800))")
        try #require(waitUntil(timeoutSeconds: 120) { Self.metric(address, "volatility_consumer_messages_processed_total") >= Double(records) })
        let made = Int(Self.metric(address, "volatility_consumer_predictions_made_total"))
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 30) == 0)

        // Per partition in offset order the model changes only at the switches: before a signal was sent the old
        // model, after /model showed the new one the new model, and at most one change in between.
        let outputs = try Self.outputs(cluster.bootstrap, atLeast: made)
        #expect(outputs.count >= made)
        var violations: [String] = []
        for partition in 0..<Int32(partitions) {
            let ordered = outputs.filter { $0.source.partition == partition }.sorted { $0.source.offset < $1.source.offset }
            for output in ordered {
                // The model in force when this record was scored must be the latest switch seen before its
                // processing time, or the one being switched to when the time is inside a switch window.
                let settled = switches.last { $0.seen <= output.timestamp }?.variant ?? "ml"
                let pending = switches.first { $0.sent <= output.timestamp && output.timestamp < $0.seen }?.variant
                if output.model_variant != settled && output.model_variant != pending {
                    if violations.count < 5 { violations.append("p\(partition)@\(output.source.offset): \(output.model_variant) at \(output.timestamp)") }
                }
            }
            var changes = 0
            for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.model_variant != next.model_variant {
                changes += 1
                if next.timestamp < previous.timestamp { violations.append("p\(partition): processing time went back") }
            }
            #expect(changes <= switches.count, "partition \(partition) changed model \(changes) times for \(switches.count) switches")
        }
        #expect(violations.isEmpty, "\(violations)")
        #expect(Set(outputs.map(\.model_variant)) == ["ml", "baseline"])

        let audit = try DaemonIntegrationTests.runAudit(
            bootstrap: cluster.bootstrap, arguments: ["--model", Self.mlPath, "--baseline", Self.baselinePath]
        )
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0, "\(audit)")
        print("reload under load: \(records) inputs at 6000/s, \(outputs.count) outputs, 6 switches, audit lost \(audit.lost.count) mismatched \(audit.mismatched.count)")
    }

    @Test func hangUpNeverEndsTheDaemonAtStartupDuringARebalanceOrDuringShutdown() throws {
        let cluster = try MockClusterProcess(partitions: 4)
        let first = try ChildProcess(name: "consumerd-1", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap))
        // At start-up: right after the first line the daemon prints.
        try #require(waitUntil(timeoutSeconds: 60) { !first.stdout.isEmpty || !first.stderr.isEmpty })
        kill(first.process.processIdentifier, SIGHUP)
        let address = try #require(first.waitForLine(prefix: "METRICS="), "\(first.stderr.suffix(1500))")
        #expect(first.process.isRunning)
        #expect(waitUntil(timeoutSeconds: 30) { httpGet("http://\(address)/readyz")?.status == 200 })

        // During a rebalance: a second member joins the group; both get SIGHUPs while partitions move.
        let second = try ChildProcess(name: "consumerd-2", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap))
        // Its handler is in place once it has printed anything.
        try #require(waitUntil(timeoutSeconds: 60) { !second.stdout.isEmpty || !second.stderr.isEmpty })
        let rebalancing = waitUntil(timeoutSeconds: 60) {
            kill(first.process.processIdentifier, SIGHUP)
            kill(second.process.processIdentifier, SIGHUP)
            return Self.metric(address, #"volatility_consumer_rebalances_total{kind="revoke"}"#) >= 1
        }
        #expect(rebalancing, "no rebalance happened")
        #expect(first.process.isRunning && second.process.isRunning)
        let secondAddress = try #require(second.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) {
            Self.metric(address, "volatility_consumer_assigned_partitions") + Self.metric(secondAddress, "volatility_consumer_assigned_partitions") == 4
        })
        #expect(Self.metric(address, #"volatility_consumer_model_reloads_total{result="ok"}"#) >= 2)

        // During shutdown: SIGTERM, then SIGHUPs until it has exited: the shutdown completes cleanly.
        kill(first.process.processIdentifier, SIGTERM)
        _ = waitUntil(timeoutSeconds: 30) {
            if first.process.isRunning { kill(first.process.processIdentifier, SIGHUP) }
            return !first.process.isRunning
        }
        #expect(first.waitForExit(timeoutSeconds: 30) == 0, "\(first.stderr.suffix(1500))")
        #expect(second.stop(signal: SIGTERM, timeoutSeconds: 30) == 0)
    }

    // MARK: Fallback

    @Test(arguments: [false, true])
    func unloadableModelAtStartup(fallback: Bool) throws {
        let directory = try Self.scratch()
        let broken = directory.appendingPathComponent("broken.json")
        try Self.write("not a model", to: broken)
        let cluster = try MockClusterProcess(partitions: 1)
        var environment = ["MODEL_PATH": broken.path]
        if fallback { environment["MODEL_FALLBACK"] = "baseline" }
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: environment))
        guard fallback else {
            #expect(daemon.waitForExit(timeoutSeconds: 30) == 2)
            let lines = daemon.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("MODEL_PATH") && lines[0].contains(broken.path), "\(daemon.stderr)")
            return
        }
        let address = try #require(daemon.waitForLine(prefix: "METRICS="), "\(daemon.stderr.suffix(1500))")
        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0)
        let outputs = try Self.outputs(cluster.bootstrap, atLeast: DaemonIntegrationTests.referencePredictionCount)
        #expect(outputs.count == DaemonIntegrationTests.referencePredictionCount)
        #expect(outputs.allSatisfy { $0.model_variant == "baseline" && $0.fallback_reason == "load_error" })
        #expect(Self.metric(address, "volatility_consumer_model_fallback_active") == 1)
        #expect(Self.metric(address, #"volatility_consumer_model_fallbacks_total{reason="load_error"}"#) == 1)
        let status = Self.model(address)
        #expect((status?["fallback"] as? [String: Any])?["active"] as? Bool == true)
        #expect(((status?["fallback"] as? [String: Any])?["detail"] as? String ?? "").contains(broken.path))
        #expect(daemon.stop(timeoutSeconds: 30) == 0)
    }

    @Test(arguments: [false, true])
    func unloadableModelOnReload(fallback: Bool) throws {
        let directory = try Self.scratch()
        let config = directory.appendingPathComponent("model.json")
        let broken = directory.appendingPathComponent("broken.json")
        try Self.write("{}", to: config)
        try Self.write(#"{"learner": 1}"#, to: broken)
        let cluster = try MockClusterProcess(partitions: 1)
        var environment = ["MODEL_CONFIG_FILE": config.path]
        if fallback { environment["MODEL_FALLBACK"] = "baseline" }
        let (daemon, address) = try Self.start(cluster, environment)
        try Self.write(#"{"model_path":"\#(broken.path)"}"#, to: config)
        kill(daemon.process.processIdentifier, SIGHUP)
        if fallback {
            // The reload succeeds with the baseline in force, marked as a fallback. (The reload is counted after
            // everything else it changes is exported, so it is the one series to wait for.)
            #expect(waitUntil(timeoutSeconds: 30) { Self.metric(address, #"volatility_consumer_model_reloads_total{result="ok"}"#) == 1 })
            #expect(Self.metric(address, "volatility_consumer_model_fallback_active") == 1)
            #expect(Self.activeVariant(address) == "baseline")
            #expect(Self.metric(address, #"volatility_consumer_model_fallbacks_total{reason="load_error"}"#) == 1)
        } else {
            #expect(waitUntil(timeoutSeconds: 30) { Self.metric(address, #"volatility_consumer_model_reloads_total{result="error"}"#) == 1 })
            #expect(Self.activeVariant(address) == "ml")
            #expect(Self.metric(address, "volatility_consumer_model_fallback_active") == 0)
        }
        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0)
        let outputs = try Self.outputs(cluster.bootstrap, atLeast: DaemonIntegrationTests.referencePredictionCount)
        #expect(outputs.count == DaemonIntegrationTests.referencePredictionCount)
        #expect(outputs.allSatisfy { $0.model_variant == (fallback ? "baseline" : "ml") && $0.fallback_reason == (fallback ? "load_error" : nil) })
        #expect(daemon.stop(timeoutSeconds: 30) == 0)
    }

    @Test(arguments: [false, true])
    func nonFiniteScoresFallBackPerRecordOrAreDeadLettered(fallback: Bool) throws {
        let marker = #"side\":\"sell"#
        let expected = try Self.fixturePredictions()
        let marked = expected.filter { entry in entry.line.withUnsafeBytes { Self.contains($0, marker) } }
        try #require(!marked.isEmpty && marked.count < expected.count)
        let cluster = try MockClusterProcess(partitions: 1)
        var environment = ["CONSUMERD_FAULT_NAN_MARKER": marker]
        if fallback { environment["MODEL_FALLBACK"] = "baseline" }
        let (daemon, address) = try Self.start(cluster, environment)
        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0)
        let baseline = try LoadedModel.load(variant: .baseline, modelPath: "", baselinePath: Self.baselinePath)
        let markedOffsets = Set(marked.map { Int64($0.offset) })
        if fallback {
            let outputs = try Self.outputs(cluster.bootstrap, atLeast: expected.count)
            #expect(outputs.count == expected.count)
            let byOffset = Dictionary(outputs.map { ($0.source.offset, $0) }) { first, _ in first }
            for entry in marked.prefix(200) {
                let output = byOffset[Int64(entry.offset)]
                #expect(output?.model_variant == "baseline" && output?.fallback_reason == "non_finite_score")
                #expect(abs((output?.probability ?? .nan) - baseline.predict(entry.prediction.features).probability) <= 1e-12)
            }
            #expect(outputs.filter { !markedOffsets.contains($0.source.offset) }.allSatisfy { $0.model_variant == "ml" && $0.fallback_reason == nil })
            #expect(waitUntil(timeoutSeconds: 30) {
                Self.metric(address, #"volatility_consumer_model_fallbacks_total{reason="non_finite_score"}"#) == Double(marked.count)
            })
        } else {
            let outputs = try Self.outputs(cluster.bootstrap, atLeast: expected.count - marked.count)
            #expect(outputs.count == expected.count - marked.count)
            #expect(outputs.allSatisfy { !markedOffsets.contains($0.source.offset) })
            let reader = try TopicReader(bootstrapServers: cluster.bootstrap, topic: "ticks.features.dlq")
            try reader.start()
            let deadLetters = reader.read(timeoutSeconds: 60) { $0.count >= marked.count } + reader.poll(timeoutMs: 300)
            #expect(deadLetters.count == marked.count)
            #expect(deadLetters.allSatisfy { $0.headers["error_type"] == "model_error" })
            #expect(Set(deadLetters.compactMap { $0.headers["source_offset"].flatMap { Int64($0) } }) == markedOffsets)
            #expect(waitUntil(timeoutSeconds: 30) {
                Self.metric(address, #"volatility_consumer_dlq_records_total{error_type="model_error"}"#) == Double(marked.count)
            })
            #expect(Self.metric(address, #"volatility_consumer_errors_total{error_type="model_error"}"#) == Double(marked.count))
        }
        #expect(daemon.stop(timeoutSeconds: 30) == 0)
    }

    static func contains(_ bytes: UnsafeRawBufferPointer, _ marker: String) -> Bool {
        let needle = Array(marker.utf8)
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where needle.indices.allSatisfy({ bytes[start + $0] == needle[$0] }) {
            return true
        }
        return false
    }

    // MARK: Shadow

    @Test func shadowScoresEqualAnOfflineComputation() throws {
        let expected = try Self.fixturePredictions()
        let baseline = try LoadedModel.load(variant: .baseline, modelPath: "", baselinePath: Self.baselinePath)
        let cluster = try MockClusterProcess(partitions: 1, topics: ["ticks.features", "ticks.predictions", "ticks.features.dlq", "ticks.shadow"])
        let (daemon, address) = try Self.start(cluster, ["SHADOW_VARIANT": "baseline", "SHADOW_TOPIC": "ticks.shadow"])
        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0)
        let predictions = try Self.outputs(cluster.bootstrap, atLeast: expected.count)
        let shadows = try Self.outputs(cluster.bootstrap, topic: "ticks.shadow", atLeast: expected.count)
        #expect(predictions.count == expected.count && shadows.count == expected.count)
        #expect(predictions.allSatisfy { $0.model_variant == "ml" && $0.shadow == nil })
        let byOffset = Dictionary(shadows.map { ($0.source.offset, $0) }) { first, _ in first }
        var agree = 0
        var mismatches: [String] = []
        for entry in expected {
            let offline = baseline.predict(entry.prediction.features)
            if offline.prediction == entry.prediction.score.prediction { agree += 1 }
            guard let shadow = byOffset[Int64(entry.offset)] else {
                mismatches.append("offset \(entry.offset): no shadow output")
                continue
            }
            if shadow.shadow != true || shadow.model_variant != "baseline" || shadow.prediction != offline.prediction
                || abs(shadow.probability - offline.probability) > 1e-12
            {
                if mismatches.count < 5 { mismatches.append("offset \(entry.offset): \(shadow) vs \(offline)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(waitUntil(timeoutSeconds: 30) {
            Self.metric(address, #"volatility_consumer_shadow_comparisons_total{result="agree"}"#) == Double(agree)
                && Self.metric(address, #"volatility_consumer_shadow_comparisons_total{result="disagree"}"#) == Double(expected.count - agree)
        }, "agree \(agree) of \(expected.count) offline")
        print("shadow: baseline agrees with ml on \(agree) of \(expected.count) fixture predictions")
        #expect(daemon.stop(timeoutSeconds: 30) == 0)
    }

    // MARK: Admin

    @Test func adminListenerIsOffByDefaultAndNeedsTheToken() throws {
        let cluster = try MockClusterProcess(partitions: 1)
        // Off: nothing listens on the admin port.
        let port = try NoidaBroker.freePort()  // bound and released: nothing listens on it
        let (plain, _) = try Self.start(cluster, ["ADMIN_PORT": String(port)])
        #expect(httpGet("http://127.0.0.1:\(port)/admin/reload")?.status == 0, "something answers on the admin port")
        #expect(plain.stop(timeoutSeconds: 30) == 0)

        let token = "s3cret-token-0123456789"
        let directory = try Self.scratch()
        let tokenFile = directory.appendingPathComponent("token")
        try Self.write(token + "\n", to: tokenFile)
        let (daemon, address) = try Self.start(cluster, ["ADMIN_TOKEN_FILE": tokenFile.path, "ADMIN_PORT": "0", "KAFKA_GROUP_ID": "admin-test"])
        let admin = try #require(daemon.waitForLine(prefix: "ADMIN="))
        #expect(!daemon.stderr.contains(token), "the token was logged")
        #expect(Self.post("http://\(admin)/admin/model", body: #"{"variant":"baseline"}"#, token: nil).status == 401)
        #expect(Self.post("http://\(admin)/admin/model", body: #"{"variant":"baseline"}"#, token: "wrong-token-0123456789").status == 401)
        #expect(Self.activeVariant(address) == "ml")
        let switched = Self.post("http://\(admin)/admin/model", body: #"{"variant":"baseline"}"#, token: token)
        #expect(switched.status == 200, "\(switched.body)")
        #expect(switched.body.contains(#""variant":"baseline""#))
        let status = Self.model(address)
        #expect((status?["active"] as? [String: Any])?["variant"] as? String == "baseline")
        #expect(status?["set_by"] as? String == "admin_request" && status?["configured_from"] as? String == "admin request")
        let bad = Self.post("http://\(admin)/admin/model", body: #"{"variant":"xgb"}"#, token: token)
        #expect(bad.status == 422 && bad.body.contains("xgb"))

        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0)
        let outputs = try Self.outputs(cluster.bootstrap, atLeast: DaemonIntegrationTests.referencePredictionCount)
        #expect(outputs.count == DaemonIntegrationTests.referencePredictionCount)
        #expect(outputs.allSatisfy { $0.model_variant == "baseline" })
        // POST /admin/reload goes back to the configuration (here the environment: ml).
        let reloaded = Self.post("http://\(admin)/admin/reload", body: "", token: token)
        #expect(reloaded.status == 200 && Self.activeVariant(address) == "ml")
        #expect(daemon.stop(timeoutSeconds: 30) == 0)
    }

    static func post(_ url: String, body: String, token: String?) -> (status: Int, body: String) {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "--max-time", "30", "--data-binary", body, url]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = arguments
        let pipe = Pipe()
        curl.standardOutput = pipe
        guard (try? curl.run()) != nil else { return (0, "curl did not start") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}

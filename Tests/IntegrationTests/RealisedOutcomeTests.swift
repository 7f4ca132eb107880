import FeaturePipeline
import Foundation
import StreamConsumer
import Testing

/// Realised-label outcomes published by the real daemon (`OUTCOMES_TOPIC`): equal to an offline computation,
/// counted in the metrics, and complete across a kill -9 and restart.
@Suite(.serialized) struct RealisedOutcomeTests {
    static let outcomesTopic = "ticks.outcomes"
    static let topics = ["ticks.features", "ticks.predictions", "ticks.features.dlq", outcomesTopic]

    struct PublishedOutcome: Decodable {
        struct Source: Decodable { var topic: String; var partition: Int32; var offset: Int64 }
        var product_id: String
        var event_time: Double
        var model_variant: String
        var model_version: String
        var role: String
        var probability: Double
        var prediction: Int
        var realised_volatility: Double?
        var realised_label: Int?
        var horizon_ticks: Int
        var label_threshold: Double
        var label_horizon_seconds: Double
        var source: Source
    }

    /// The outcomes an uninterrupted run completes, by predicted offset (fixture lines on one partition).
    static func expected() throws -> [Int64: RealisedOutcome] {
        let model = try LoadedModel.load(
            variant: .ml,
            modelPath: TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            baselinePath: TestPaths.repositoryRoot.appendingPathComponent("config/models/baseline.json").path)
        var pipeline = RecordPipeline(model: model, labelSettings: LabelSettings(horizonSeconds: 60, threshold: 2.8e-5))
        var outcomes: [Int64: RealisedOutcome] = [:]
        for (offset, line) in try ReferenceData.tickLines().enumerated() {
            let outcome = line.withUnsafeBytes {
                pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: Date().timeIntervalSince1970, timings: nil)
            }
            for completed in pipeline.labels.completed { outcomes[completed.source.offset] = completed }
            if case .prediction(let prediction) = outcome {
                pipeline.openHorizon(
                    source: RecordSource(topic: "ticks.features", partition: 0, offset: Int64(offset)),
                    first: HorizonScore(
                        role: .active, variant: .ml, version: model.version, probability: prediction.score.probability,
                        prediction: prediction.score.prediction))
            }
        }
        return outcomes
    }

    static func decode(_ records: [ReadRecord]) -> [PublishedOutcome] {
        let decoder = JSONDecoder()
        return records.compactMap { try? decoder.decode(PublishedOutcome.self, from: Data($0.value)) }
    }

    static func mismatches(_ published: [PublishedOutcome], _ expected: [Int64: RealisedOutcome]) -> [String] {
        var problems: [String] = []
        for outcome in published {
            guard let want = expected[outcome.source.offset] else {
                problems.append("unexpected outcome for offset \(outcome.source.offset)")
                continue
            }
            var ok = outcome.horizon_ticks == want.horizonTicks && outcome.realised_label == want.realisedLabel
                && outcome.role == "active" && outcome.model_variant == "ml" && outcome.prediction == want.score.prediction
                && outcome.label_threshold == 2.8e-5 && outcome.label_horizon_seconds == 60
                && outcome.event_time == want.eventTime && outcome.product_id == "BTC-USD"
            if let volatility = outcome.realised_volatility {
                ok = ok && ReferenceData.close(volatility, want.realisedVolatility)
            } else {
                ok = ok && want.realisedVolatility.isNaN
            }
            if !ok, problems.count < 5 { problems.append("offset \(outcome.source.offset): \(outcome) vs \(want)") }
        }
        return problems
    }

    @Test func outcomesEqualTheOfflineComputationAndTheCounters() throws {
        let expected = try Self.expected()
        #expect(expected.count > 1800)
        let cluster = try MockClusterProcess(partitions: 1, topics: Self.topics)
        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "replay failed: \(replay.stderr)")
        let daemon = try ChildProcess(
            name: "consumerd", arguments: [],
            environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: ["OUTCOMES_TOPIC": Self.outcomesTopic]))
        let metricsAddress = try #require(daemon.waitForLine(prefix: "METRICS="), "no METRICS line: \(daemon.stderr)")

        let reader = try TopicReader(bootstrapServers: cluster.bootstrap, topic: Self.outcomesTopic)
        try reader.start()
        var records = reader.read(timeoutSeconds: 120) { $0.count >= expected.count }
        records += reader.poll(timeoutMs: 500)
        let published = Self.decode(records)
        #expect(published.count == expected.count)
        #expect(Set(published.map(\.source.offset)) == Set(expected.keys))
        #expect(Self.mismatches(published, expected) == [])

        // Counters equal the records.
        var exposition = ""
        let settled = waitUntil(timeoutSeconds: 30) {
            exposition = httpGet("http://\(metricsAddress)/metrics")?.body ?? ""
            var total = metricValue(exposition, #"volatility_consumer_realised_unlabelled_total{variant="ml",role="active"}"#) ?? 0
            for p in 0...1 { for a in 0...1 {
                total += metricValue(exposition, #"volatility_consumer_realised_outcomes_total{variant="ml",role="active",predicted="\#(p)",actual="\#(a)"}"#) ?? 0
            } }
            // The last ~990 predictions (the final minute of the dense session) complete no horizon: wait for them
            // too, so the drift window holds every prediction.
            return total == Double(expected.count)
                && metricValue(exposition, "volatility_consumer_predictions_made_total") == Double(DaemonIntegrationTests.referencePredictionCount)
        }
        #expect(settled, "realised counters do not add up to \(expected.count)")
        for p in 0...1 {
            for a in 0...1 {
                let count = published.filter { $0.prediction == p && $0.realised_label == a }.count
                #expect(metricValue(exposition, #"volatility_consumer_realised_outcomes_total{variant="ml",role="active",predicted="\#(p)",actual="\#(a)"}"#) == Double(count))
            }
        }
        #expect(metricValue(exposition, #"volatility_consumer_realised_unlabelled_total{variant="ml",role="active"}"#)
            == Double(published.filter { $0.realised_label == nil }.count))
        // 2,821 predictions against a reference built from the same ticks: PSI is exported and small.
        #expect((metricValue(exposition, #"volatility_consumer_feature_psi{feature="midprice_return_std"}"#) ?? 1) < 0.02, "\(exposition.split(separator: "\n").filter { $0.contains("psi") || $0.contains("positive_rate") || $0.contains("predictions_made") || $0.contains("nonfinite") })")
        #expect(metricValue(exposition, "volatility_consumer_reference_positive_rate") == 0.1783055654023396)
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    @Test func killedAndRestartedDaemonStillPublishesEveryOutcome() throws {
        let expected = try Self.expected()
        let cluster = try MockClusterProcess(partitions: 1, topics: Self.topics)
        // With a shadow model: the rebuild reopens horizons with both scores, so both roles' outcomes are complete.
        let environment = daemonEnvironment(
            bootstrap: cluster.bootstrap, extra: ["OUTCOMES_TOPIC": Self.outcomesTopic, "SHADOW_VARIANT": "baseline"])
        var first: ChildProcess? = try ChildProcess(name: "consumerd-1", arguments: [], environment: environment)
        #expect(first?.waitForLine(prefix: "METRICS=") != nil)
        let replay = try DaemonIntegrationTests.replayFixture(bootstrap: cluster.bootstrap, extraArguments: ["--rate", "300"])
        let reader = try TopicReader(bootstrapServers: cluster.bootstrap, topic: Self.outcomesTopic)
        try reader.start()
        var records = reader.read(timeoutSeconds: 90) { $0.count >= 200 }
        #expect(records.count >= 200, "no outcomes before the kill: \(first?.stderr ?? "")")
        #expect(first?.stop(signal: SIGKILL) != nil)
        first = nil

        let second = try ChildProcess(name: "consumerd-2", arguments: [], environment: environment)
        #expect(second.waitForLine(prefix: "METRICS=") != nil)
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "replay failed: \(replay.stderr)")
        var published: [PublishedOutcome] = []
        var shadows: [PublishedOutcome] = []
        let covered = waitUntil(timeoutSeconds: 120) {
            records += reader.poll(timeoutMs: 200)
            let all = Self.decode(records)
            published = all.filter { $0.role == "active" }
            shadows = all.filter { $0.role == "shadow" }
            return Set(published.map(\.source.offset)).isSuperset(of: expected.keys)
                && Set(shadows.map(\.source.offset)).isSuperset(of: expected.keys)
        }
        let missing = Set(expected.keys).subtracting(published.map(\.source.offset))
        let missingShadow = Set(expected.keys).subtracting(shadows.map(\.source.offset))
        #expect(covered, "\(missing.count) active and \(missingShadow.count) shadow outcomes missing, e.g. \(missing.sorted().prefix(5)) \(missingShadow.sorted().prefix(5)): \(second.stderr.suffix(2000))")
        #expect(Self.mismatches(published, expected) == [], "a restarted daemon's outcome differs")
        // The shadow's horizons are the same ticks; only its score differs.
        #expect(shadows.allSatisfy { shadow in
            expected[shadow.source.offset].map { $0.horizonTicks == shadow.horizon_ticks && $0.realisedLabel == shadow.realised_label } == true
                && shadow.model_variant == "baseline"
        }, "a shadow outcome differs from its horizon")
        print("outcome restart test: expected \(expected.count), published \(published.count) (duplicates \(published.count - Set(published.map(\.source.offset)).count))")
        #expect(second.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }
}


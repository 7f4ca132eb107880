import Foundation
import Testing

import FeaturePipeline

/// Realised-label scoring: every completed horizon equals an offline computation straight from the issue's
/// definition (horizon members found by scanning forward, two-pass population standard deviation).
@Suite("Realised labels")
struct RealisedLabelTests {
    struct Entered {
        var index: Int  // record index (the offset)
        var productId: String
        var eventTime: Double
        var mid: Double
        var predicted: Bool
    }

    struct Run {
        var outcomes: [RealisedOutcome] = []
        var entered: [Entered] = []
        var expiries = RealisedLabelTracker.ExpiryCounts()
        var openAtEnd = 0
    }

    static func model() throws -> LoadedModel {
        LoadedModel(variant: .ml, xgboost: try loadProductionModel(), baseline: nil, version: "test", path: "test")
    }

    /// Runs records through a pipeline, opening a horizon (active score, and a shadow copy when asked) on
    /// every prediction, as the daemon does.
    static func run(
        _ records: [[UInt8]], settings: LabelSettings, shadow: Bool = false, maxKeys: Int = 100_000,
        idleSeconds: Double = 3600
    ) throws -> Run {
        var pipeline = RecordPipeline(
            model: try model(), maxKeys: maxKeys, idleSeconds: idleSeconds, labelSettings: settings)
        var result = Run()
        let decoder = RecordDecoder()
        for (index, record) in records.enumerated() {
            let outcome = record.withUnsafeBytes {
                pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: testNow, timings: nil)
            }
            result.outcomes += pipeline.labels.completed
            let source = RecordSource(topic: "in", partition: 0, offset: Int64(index))
            switch outcome {
            case .prediction(let prediction):
                let first = HorizonScore(
                    role: .active, variant: .ml, version: "v", probability: prediction.score.probability,
                    prediction: prediction.score.prediction)
                var second = first
                second.role = .shadow
                second.prediction = 1 - first.prediction
                pipeline.openHorizon(source: source, first: first, second: shadow ? second : nil)
                result.entered.append(Entered(
                    index: index, productId: prediction.productId, eventTime: prediction.eventTime,
                    mid: prediction.midprice, predicted: true))
            case .skipped(.warmingUp):
                guard case .tick(let tick) = try decode(bytes: record, decoder: decoder) else { continue }
                result.entered.append(Entered(
                    index: index, productId: tick.productId, eventTime: tick.eventTime, mid: tick.midprice,
                    predicted: false))
            default:
                break
            }
            let expiries = pipeline.takeLabelExpiries()
            for reason in HorizonExpiry.allCases { result.expiries[reason] += expiries[reason] }
        }
        result.openAtEnd = pipeline.labels.openCount
        return result
    }

    struct Expected {
        var volatility: Double
        var horizonTicks: Int
        var completed: Bool
    }

    /// The definition, computed the slow way: for each predicted tick, scan later ticks of the product.
    static func offline(_ entered: [Entered], horizon: Double) -> [Int: Expected] {
        var expected: [Int: Expected] = [:]
        for (i, start) in entered.enumerated() where start.predicted {
            var mids = [start.mid]
            var completed = false
            for later in entered[(i + 1)...] where later.productId == start.productId {
                if later.eventTime > start.eventTime + horizon {
                    completed = true
                    break
                }
                mids.append(later.mid)
            }
            let differences = zip(mids.dropFirst(), mids).map { log($0) - log($1) }
            var volatility = Double.nan
            if differences.count >= 2 {
                let mean = differences.reduce(0, +) / Double(differences.count)
                let variance = differences.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(differences.count)
                volatility = variance.squareRoot()
            }
            expected[start.index] = Expected(volatility: volatility, horizonTicks: differences.count, completed: completed)
        }
        return expected
    }

    static func compare(_ run: Run, horizon: Double, threshold: Double, scoresPerHorizon: Int = 1) -> [String] {
        var problems: [String] = []
        let expected = offline(run.entered, horizon: horizon)
        let completedOffline = expected.filter { $0.value.completed }
        var seen: [Int: Int] = [:]
        for outcome in run.outcomes {
            let index = Int(outcome.source.offset)
            seen[index, default: 0] += 1
            guard let want = expected[index], want.completed else {
                problems.append("outcome for \(index) which is not a completed horizon offline")
                continue
            }
            if outcome.horizonTicks != want.horizonTicks {
                problems.append("\(index): horizon_ticks \(outcome.horizonTicks) vs \(want.horizonTicks)")
            }
            if want.horizonTicks >= 2 {
                if !nearlyEqual(outcome.realisedVolatility, want.volatility) {
                    problems.append("\(index): volatility \(outcome.realisedVolatility) vs \(want.volatility)")
                }
                if outcome.realisedLabel != (want.volatility >= threshold ? 1 : 0) {
                    problems.append("\(index): label \(String(describing: outcome.realisedLabel))")
                }
            } else if outcome.realisedLabel != nil {
                problems.append("\(index): labelled with \(want.horizonTicks) differences")
            }
            if outcome.labelThreshold != threshold || outcome.labelHorizonSeconds != horizon {
                problems.append("\(index): settings not kept")
            }
        }
        for index in completedOffline.keys where seen[index] != scoresPerHorizon {
            problems.append("\(index): \(seen[index] ?? 0) outcomes, want \(scoresPerHorizon)")
        }
        if run.openAtEnd != expected.count - completedOffline.count {
            problems.append("open at end \(run.openAtEnd) vs \(expected.count - completedOffline.count)")
        }
        return Array(problems.prefix(10))
    }

    @Test("fixture ticks, H = 60 and H = 5: every completed horizon equals the offline computation", arguments: [60.0, 5.0])
    func fixture(horizon: Double) throws {
        let threshold = 2.8e-5
        let run = try Self.run(
            fixtureLines(TestPaths.tickerFile), settings: LabelSettings(horizonSeconds: horizon, threshold: threshold))
        #expect(run.entered.count == 2_824)
        // About 1,830 labelled rows at H = 60 (the issue's count): the gaps between sessions leave the last
        // minute of each session's horizons completed by the next session's first tick.
        #expect(run.outcomes.count > 1_800, "completed horizons: \(run.outcomes.count)")
        #expect(run.outcomes.contains { $0.realisedLabel == 1 } && run.outcomes.contains { $0.realisedLabel == 0 })
        if horizon == 5 { #expect(run.outcomes.contains { $0.realisedLabel == nil }, "short horizons go unlabelled") }
        #expect(Self.compare(run, horizon: horizon, threshold: threshold) == [])
        #expect(run.expiries.isEmpty)
    }

    @Test("active and shadow scores of a tick complete together, each with its own prediction")
    func shadowScores() throws {
        let run = try Self.run(
            fixtureLines(TestPaths.tickerFile), settings: LabelSettings(horizonSeconds: 60, threshold: 2.8e-5),
            shadow: true)
        #expect(Self.compare(run, horizon: 60, threshold: 2.8e-5, scoresPerHorizon: 2) == [])
        let active = run.outcomes.filter { $0.score.role == .active }
        let shadow = run.outcomes.filter { $0.score.role == .shadow }
        #expect(active.count == shadow.count)
        #expect(zip(active, shadow).allSatisfy { $0.source == $1.source && $0.score.prediction == 1 - $1.score.prediction })
    }

    static func record(_ product: String, _ t: Double, _ price: Double) -> [UInt8] {
        Array(#"{"timestamp": \#(t), "product_id": "\#(product)", "price": \#(price)}"#.utf8)
    }

    @Test("equal timestamps and late ticks: membership follows offset order and the strict > tᵢ + H rule")
    func equalTimesAndLateTicks() throws {
        let t0 = 1_762_932_000.0
        var records: [[UInt8]] = []
        // Bursts of equal timestamps, a late tick (earlier time arriving later), a tick exactly at tᵢ + H,
        // two interleaved products, and a late tick after its predecessors' horizons completed.
        let script: [(String, Double, Double)] = [
            ("A", 0, 100), ("A", 0, 101), ("A", 0, 100.5), ("B", 0, 50), ("A", 1, 102), ("B", 1, 50.5),
            ("A", 1, 101), ("A", 0.5, 99), ("A", 2, 103), ("B", 2, 49), ("A", 3, 100), ("A", 5, 104),
            ("A", 5, 104), ("A", 6, 105), ("B", 5.5, 51), ("A", 4, 98), ("A", 7, 103), ("A", 11, 102),
            ("A", 10, 101), ("B", 12, 50), ("A", 12, 100), ("A", 30, 100), ("B", 30, 52), ("A", 1, 97),
            ("A", 31, 101), ("A", 37, 102),
        ]
        for (product, dt, price) in script { records.append(Self.record(product, t0 + dt, price)) }
        for horizon in [5.0, 6.0, 60.0] {
            let run = try Self.run(records, settings: LabelSettings(horizonSeconds: horizon, threshold: 0.004))
            #expect(run.entered.count == script.count)
            #expect(run.outcomes.isEmpty == (horizon == 60), "the script spans 37 s")
            #expect(Self.compare(run, horizon: horizon, threshold: 0.004) == [], "H = \(horizon)")
        }
    }

    @Test("randomised streams (3 products, jittered and late ticks, bursts of equal times) equal the offline computation")
    func randomisedStreams() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Double {  // deterministic LCG in [0, 1)
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let t0 = 1_762_932_000.0
        for round in 0..<6 {
            var records: [[UInt8]] = []
            var clock = 0.0
            var price = [100.0, 50.0, 10.0]
            for _ in 0..<600 {
                let r = next()
                clock += r < 0.3 ? 0 : r < 0.95 ? next() * 2 : 70  // equal times, small steps, gaps > window
                let p = Int(next() * 3)
                price[p] *= 1 + (next() - 0.5) * 0.002
                let late = next() < 0.05 ? next() * 8 : 0  // 5 % arrive up to 8 s late
                records.append(Self.record(["A", "B", "C"][p], t0 + clock - late, price[p]))
            }
            let horizon = [5.0, 10.0, 3.0][round % 3]
            let run = try Self.run(records, settings: LabelSettings(horizonSeconds: horizon, threshold: 0.0005))
            #expect(run.outcomes.count > 300, "round \(round)")
            #expect(Self.compare(run, horizon: horizon, threshold: 0.0005) == [], "round \(round)")
        }
    }

    @Test("LABEL_MAX_PENDING drops the oldest open horizons of the partition, counted as max_pending")
    func maxPending() throws {
        let t0 = 1_762_932_000.0
        var records: [[UInt8]] = []
        for i in 0..<40 { records.append(Self.record(i % 2 == 0 ? "A" : "B", t0 + Double(i / 2), 100 + Double(i % 7))) }
        let run = try Self.run(records, settings: LabelSettings(horizonSeconds: 1000, threshold: 0.01, maxPending: 5))
        // 38 predictions (each product warms up once), none completes within H = 1000 s: 33 dropped, 5 open.
        #expect(run.expiries.maxPending == 33)
        #expect(run.openAtEnd == 5)
        #expect(run.outcomes.isEmpty)
    }

    @Test("horizons are dropped with their product's state: capacity and idle evictions")
    func evictions() throws {
        let t0 = 1_762_932_000.0
        var records: [[UInt8]] = []
        // A and B get two open horizons each; C's first tick evicts A (STATE_MAX_KEYS 2): A's two are
        // dropped as capacity_eviction. C gets one. B ticks again 5000 s later: C is idle (STATE_IDLE_SECONDS
        // 60) and its horizon is dropped as idle_eviction; B's horizons stay open (H is huge).
        for (p, dt) in [("A", 0.0), ("A", 1), ("A", 2), ("B", 2), ("B", 3), ("B", 4), ("C", 5), ("C", 6)] {
            records.append(Self.record(p, t0 + dt, 100 + dt))
        }
        for i in 0..<40 { records.append(Self.record("B", t0 + 5000 + Double(i), 100)) }
        let run = try Self.run(
            records, settings: LabelSettings(horizonSeconds: 100_000, threshold: 0.01), maxKeys: 2,
            idleSeconds: 60)
        #expect(run.expiries.capacityEviction == 2)
        #expect(run.expiries.idleEviction == 1)
        #expect(run.expiries.maxPending == 0)
        #expect(run.openAtEnd == 2 + 39, "B's two, then 39 more (its tick at +5000 s warms up again)")
        #expect(run.outcomes.isEmpty)
    }

    @Test("a rebuild that replays window + H restores the open horizons: the restarted run completes the same outcomes")
    func rebuildRestoresHorizons() throws {
        let lines = try fixtureLines(TestPaths.tickerFile)
        let settings = LabelSettings(horizonSeconds: 60, threshold: 2.8e-5)
        let full = try Self.run(lines, settings: settings)
        // Stop after record 1500, then rebuild from the records whose event time is within 60 + 60 s of the
        // resume point, discarding the replay's outcomes, as the daemon's warmUp does.
        let resume = 1500
        let decoder = RecordDecoder()
        var times: [Double] = []
        for line in lines { times.append((try? decode(bytes: line, decoder: decoder)).flatMap { if case .tick(let t) = $0 { t.eventTime } else { nil } } ?? -1) }
        let resumeTime = times[resume]
        let replayStart = times.firstIndex { $0 >= resumeTime - 120 }!
        var pipeline = RecordPipeline(model: try Self.model(), labelSettings: settings)
        var restarted: [RealisedOutcome] = []
        for index in replayStart..<lines.count {
            let outcome = lines[index].withUnsafeBytes {
                pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: testNow, timings: nil)
            }
            if index >= resume { restarted += pipeline.labels.completed }
            if case .prediction(let prediction) = outcome {
                pipeline.openHorizon(
                    source: RecordSource(topic: "in", partition: 0, offset: Int64(index)),
                    first: HorizonScore(
                        role: .active, variant: .ml, version: "v", probability: prediction.score.probability,
                        prediction: prediction.score.prediction))
            }
        }
        let expected = full.outcomes.filter { outcome in
            // Outcomes completed by records at or after the resume point.
            let completer = full.entered.first { $0.productId == outcome.productId && $0.index > outcome.source.offset && $0.eventTime > outcome.eventTime + 60 }!
            return completer.index >= resume
        }
        #expect(expected.count > 1000)
        #expect(Self.firstDifference(restarted, expected) == nil)
    }

    /// `nil` when both lists hold the same outcomes in the same order (NaN volatilities equal), else the first
    /// difference.
    static func firstDifference(_ a: [RealisedOutcome], _ b: [RealisedOutcome]) -> String? {
        guard a.count == b.count else { return "\(a.count) outcomes vs \(b.count)" }
        for (x, y) in zip(a, b) {
            var xx = x
            var yy = y
            if x.realisedVolatility.isNaN, y.realisedVolatility.isNaN {
                xx.realisedVolatility = 0
                yy.realisedVolatility = 0
            }
            if xx != yy { return "offset \(x.source.offset): \(x) vs \(y)" }
        }
        return nil
    }

    /// Open horizons keep their model identities and topic as indices into a table (no strings per horizon):
    /// each outcome must still carry exactly the scores and source its prediction opened it with, across model
    /// versions that change while horizons are open, a second score on some horizons only, and two topics.
    @Test func outcomesKeepTheScoresAndSourceTheyWereOpenedWith() {
        var tracker = RealisedLabelTracker(settings: LabelSettings(horizonSeconds: 10, threshold: 0.001))
        var expected: [String: (HorizonScore, HorizonScore?, RecordSource)] = [:]
        var seen: [RealisedOutcome] = []
        for index in 0..<400 {
            let product = "P-\(index % 3)"
            tracker.beginRecord()
            tracker.observe(productId: product, eventTime: Double(index), midprice: 100 + Double(index % 7))
            seen += tracker.completed
            guard index < 300 else { continue }
            let version = "v\(index / 50)"  // a new active version every 50 records
            let first = HorizonScore(
                role: .active, variant: index % 100 < 50 ? .ml : .baseline, version: version,
                probability: Double(index) / 1000, prediction: index % 2)
            let second = index % 3 == 0
                ? HorizonScore(role: .shadow, variant: .baseline, version: "s\(index / 120)", probability: 0.5, prediction: 1)
                : nil
            let source = RecordSource(topic: index % 5 == 0 ? "other" : "in", partition: Int32(index % 4), offset: Int64(index))
            tracker.openAtLastTick(source: source, first: first, second: second)
            expected["\(index)"] = (first, second, source)
        }
        // Every horizon of the first 300 records completes within the 400 (H = 10 s, one tick of each product per 3 s).
        #expect(seen.count == 300 + 100)
        for outcome in seen {
            guard let (first, second, source) = expected["\(outcome.source.offset)"] else {
                Issue.record("an outcome for offset \(outcome.source.offset), which opened no horizon")
                continue
            }
            #expect(outcome.source == source)
            #expect(outcome.score == (outcome.score.role == .active ? first : second))
        }
        #expect(Set(seen.filter { $0.score.role == .shadow }.map(\.source.offset)) == Set(stride(from: 0, to: 300, by: 3).map(Int64.init)))
    }
}

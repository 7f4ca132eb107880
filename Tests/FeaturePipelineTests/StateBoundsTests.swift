import Foundation
import Testing

import FeaturePipeline

/// Symbol explosion: per-product state is bounded by a key cap (LRU) and by event-time idleness.
@Suite("State bounds")
struct StateBoundsTests {
    static let t0: Double = 1_762_932_000

    func tick(_ product: String, _ t: Double, mid: Double = 100) -> Tick {
        Tick(productId: product, eventTime: t, price: mid, bid: mid - 0.01, ask: mid + 0.01)
    }

    @Test("100k distinct product ids with maxKeys 10k keep at most 10k products")
    func keyCap() {
        var windows = FeatureWindows(maxKeys: 10_000)
        var largest = 0
        for i in 0..<100_000 {
            _ = windows.update(with: self.tick("P\(i)", Self.t0 + Double(i) * 0.001))
            largest = max(largest, windows.productCount)
        }
        #expect(largest == 10_000)
        #expect(windows.productCount == 10_000)
        #expect(windows.capacityEvictions == 90_000)
        #expect(windows.idleEvictions == 0)
        #expect(windows.evictionCount == 90_000)
        #expect(windows.windowSize(of: "P0") == 0)
        #expect(windows.windowSize(of: "P89999") == 0)
        #expect(windows.windowSize(of: "P90000") == 1)
        #expect(windows.windowSize(of: "P99999") == 1)
    }

    @Test("the cap evicts the least recently updated product, not the oldest inserted")
    func leastRecentlyUpdated() {
        var windows = FeatureWindows(maxKeys: 3)
        _ = windows.update(with: self.tick("A", Self.t0))
        _ = windows.update(with: self.tick("B", Self.t0 + 1))
        _ = windows.update(with: self.tick("C", Self.t0 + 2))
        _ = windows.update(with: self.tick("A", Self.t0 + 3))  // A is now the most recent
        _ = windows.update(with: self.tick("D", Self.t0 + 4))  // evicts B
        #expect(windows.productCount == 3)
        #expect(windows.windowSize(of: "A") == 2)
        #expect(windows.windowSize(of: "B") == 0)
        #expect(windows.windowSize(of: "C") == 1)
        #expect(windows.windowSize(of: "D") == 1)
        #expect(windows.capacityEvictions == 1)
    }

    @Test("an evicted product starts a fresh window: its next tick is warming up")
    func evictedProductWarmsUpAgain() {
        var windows = FeatureWindows(maxKeys: 1)
        #expect(windows.update(with: self.tick("A", Self.t0)) == nil)
        let second = windows.update(with: self.tick("A", Self.t0 + 1))
        #expect(second?.windowSize == 2)
        #expect(windows.update(with: self.tick("B", Self.t0 + 2)) == nil)
        #expect(windows.update(with: self.tick("A", Self.t0 + 3)) == nil)
        let again = windows.update(with: self.tick("A", Self.t0 + 4))
        #expect(again?.windowSize == 2)
        #expect(windows.productCount == 1)
        #expect(windows.capacityEvictions == 2)
    }

    @Test("products idle longer than idleSeconds (event time) are evicted; exactly idleSeconds is kept")
    func idleEviction() {
        var windows = FeatureWindows(idleSeconds: 3600)
        for i in 0..<10 {
            _ = windows.update(with: self.tick("old\(i)", Self.t0 + Double(i)))
        }
        // old0 is exactly 3600 s older than these ticks: kept (only strictly older is idle). Idle checks are
        // batched (every 16th update), so give them one full interval.
        for k in 0..<16 {
            _ = windows.update(with: self.tick("now\(k % 2)", Self.t0 + 3600))
        }
        #expect(windows.productCount == 12)
        #expect(windows.idleEvictions == 0)
        // Now old0…old4 are idle.
        for k in 0..<16 {
            _ = windows.update(with: self.tick("now\(k % 2)", Self.t0 + 3604.5 + Double(k) * 0.01))
        }
        #expect(windows.idleEvictions == 5)
        #expect(windows.productCount == 7)
        #expect(windows.windowSize(of: "old4") == 0)
        #expect(windows.windowSize(of: "old5") == 1)
    }

    @Test("idle products are found even when they are not the least recently updated")
    func idleOutOfUpdateOrder() {
        var windows = FeatureWindows(idleSeconds: 3600)
        _ = windows.update(with: self.tick("fresh", Self.t0 + 5000))
        // Updated after "fresh" but with an old event time: not at the head of the update order.
        for i in 0..<50 {
            _ = windows.update(with: self.tick("stale\(i)", Self.t0))
        }
        #expect(windows.productCount == 51)
        var updates = 0
        while windows.productCount > 2, updates < 1_000 {
            _ = windows.update(with: self.tick("clock", Self.t0 + 5000))
            updates += 1
        }
        #expect(windows.productCount == 2)  // "fresh" and "clock"
        #expect(windows.idleEvictions == 50)
        #expect(windows.windowSize(of: "fresh") == 1)
        #expect(updates <= 64)
    }

    @Test("one far-ahead timestamp evicts at most one idle check's budget of products")
    func farAheadTimestampIsContained() {
        var windows = FeatureWindows(idleSeconds: 3600)
        for i in 0..<1_000 {
            _ = windows.update(with: self.tick("P\(i)", Self.t0 + Double(i) * 0.01))
        }
        // 1,000 updates so far: the next one (the 1,001st) is not a check, so step to one that is.
        for k in 0..<16 {
            var probe = windows
            _ = probe.update(with: self.tick("liar", Self.t0 + 80_000))
            if probe.idleEvictions > 0 { break }
            _ = windows.update(with: self.tick("P999", Self.t0 + 10 + Double(k) * 0.01))
        }
        _ = windows.update(with: self.tick("liar", Self.t0 + 80_000))
        #expect(windows.idleEvictions > 0)
        #expect(windows.idleEvictions <= 96)  // 64 least recently updated + 32 round-robin slots
        #expect(windows.productCount >= 1_000 - 96)
        // Back to the present: nothing more is idle.
        let evicted = windows.idleEvictions
        for k in 0..<32 {
            _ = windows.update(with: self.tick("P999", Self.t0 + 20 + Double(k) * 0.01))
        }
        #expect(windows.idleEvictions == evicted)
    }

    @Test("idleSeconds below windowSeconds is raised to it; maxKeys below 1 is raised to 1")
    func clamping() {
        let windows = FeatureWindows(windowSeconds: 60, maxKeys: 0, idleSeconds: 5)
        #expect(windows.idleSeconds == 60)
        #expect(windows.maxKeys == 1)
        #expect(FeatureWindows(idleSeconds: .nan).idleSeconds == 60)
        #expect(FeatureWindows(idleSeconds: .infinity).idleSeconds == .infinity)
        #expect(FeatureWindows().maxKeys == 100_000)
        #expect(FeatureWindows().idleSeconds == 3600)
    }

    @Test("idleSeconds infinity disables idle eviction")
    func idleDisabled() {
        var windows = FeatureWindows(idleSeconds: .infinity)
        _ = windows.update(with: self.tick("A", Self.t0))
        _ = windows.update(with: self.tick("B", Self.t0 + 1e7))
        _ = windows.update(with: self.tick("B", Self.t0 + 2e7))
        #expect(windows.productCount == 2)
        #expect(windows.evictionCount == 0)
    }

    @Test("the key cap matches a reference LRU under random access")
    func randomisedLRU() {
        var generator = SplitMix64(seed: 7)
        let cap = 17
        var windows = FeatureWindows(maxKeys: cap, idleSeconds: .infinity)
        var model: [String] = []  // least recently updated first
        var modelEvictions = 0
        for step in 0..<20_000 {
            let product = "K\(generator.next() % 40)"
            if let i = model.firstIndex(of: product) {
                model.remove(at: i)
            } else if model.count == cap {
                model.removeFirst()
                modelEvictions += 1
            }
            model.append(product)
            _ = windows.update(with: self.tick(product, Self.t0 + Double(step)))
            if step % 97 == 0 {
                for k in 0..<40 {
                    let key = "K\(k)"
                    #expect((windows.windowSize(of: key) > 0) == model.contains(key), "step \(step) key \(key)")
                }
            }
        }
        #expect(windows.productCount == model.count)
        #expect(windows.capacityEvictions == modelEvictions)
    }

    @Test("bounds never change the reference features while only one product is live")
    func conformanceUnderTightBounds() throws {
        let reference = try loadReferenceRows()
        let decoder = RecordDecoder()
        // maxKeys 2 and the shortest idle time, while a fresh noise product arrives after every tick.
        var windows = FeatureWindows(windowSeconds: 60, maxKeys: 2, idleSeconds: 60)
        var row = 0
        var noise = 0
        var mismatches = 0
        for line in try fixtureLines(TestPaths.tickerFile) {
            guard case .tick(let tick) = try decode(bytes: line, decoder: decoder) else { continue }
            let f = windows.update(with: tick)
            _ = windows.update(with: self.tick("NOISE-\(noise)", tick.eventTime))
            noise += 1
            guard let features = f else { continue }
            let expected = reference[row]
            if features.windowSize != expected.windowSize
                || (0..<FeatureVector.count).contains(where: { !nearlyEqual(features[$0], expected.features[$0]) })
            {
                mismatches += 1
            }
            row += 1
        }
        #expect(row == reference.count)
        #expect(mismatches == 0)
        #expect(windows.productCount == 2)
        #expect(windows.evictionCount == noise - 1)  // each noise product but the last, by cap or idleness
    }

    @Test("RecordPipeline passes maxKeys and idleSeconds to its windows, old initialiser still works")
    func pipelineParameters() {
        let model = LoadedModel(
            variant: .baseline, xgboost: nil,
            baseline: try? BaselineModel(mean: 0, std: 1, threshold: 2), version: "v", path: "p")
        let old = RecordPipeline(model: model, maxRecordBytes: 1000, windowSeconds: 30)
        #expect(old.windows.windowSeconds == 30)
        #expect(old.windows.maxKeys == 100_000)
        #expect(old.windows.idleSeconds == 3600)
        var bounded = RecordPipeline(model: model, maxKeys: 3, idleSeconds: 120)
        #expect(bounded.windows.maxKeys == 3)
        #expect(bounded.windows.idleSeconds == 120)
        for i in 0..<10 {
            let record = Array(#"{"timestamp": \#(Self.t0 + Double(i)), "product_id": "P\#(i)", "price": 1}"#.utf8)
            let outcome = record.withUnsafeBytes {
                bounded.process(value: $0, key: nil, kafkaTimestamp: nil, now: testNow, timings: nil)
            }
            #expect(outcome == .skipped(.warmingUp))
        }
        #expect(bounded.windows.productCount == 3)
        #expect(bounded.windows.capacityEvictions == 7)
    }
}

@Suite("State bounds: reset")
struct StateResetTests {
    @Test("resetWindows forgets products but keeps limits and eviction counters")
    func reset() {
        let model = LoadedModel(
            variant: .baseline, xgboost: nil,
            baseline: try? BaselineModel(mean: 0, std: 1, threshold: 2), version: "v", path: "p")
        var pipeline = RecordPipeline(model: model, maxKeys: 2, idleSeconds: 600)
        for i in 0..<5 {
            let record = Array(#"{"timestamp": \#(1_762_932_000 + i), "product_id": "P\#(i)", "price": 1}"#.utf8)
            _ = record.withUnsafeBytes {
                pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: testNow, timings: nil)
            }
        }
        #expect(pipeline.windows.productCount == 2)
        pipeline.resetWindows()
        #expect(pipeline.windows.productCount == 0)
        #expect(pipeline.windows.windowSize(of: "P4") == 0)
        #expect(pipeline.windows.maxKeys == 2)
        #expect(pipeline.windows.idleSeconds == 600)
        #expect(pipeline.windows.capacityEvictions == 3)
    }
}

@Suite("State bounds: non-finite event times")
struct StateNonFiniteTests {
    @Test("ticks with NaN or infinite event times cannot break the key cap")
    func nonFiniteEventTimes() {
        var windows = FeatureWindows(maxKeys: 2)
        for (i, t) in [Double.nan, .infinity, -.infinity, .nan, 1_762_932_000, .nan].enumerated() {
            _ = windows.update(with: Tick(productId: "P\(i)", eventTime: t, price: 1, bid: 1, ask: 1))
            #expect(windows.productCount <= 2)
        }
        #expect(windows.productCount == 2)
        #expect(FeatureWindows(maxKeys: .max).maxKeys == Int(Int32.max))
    }
}

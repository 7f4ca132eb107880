import Foundation
import Testing

import FeaturePipeline

@Suite("Feature windows")
struct FeatureWindowsTests {
    func tick(_ t: Double, bid: Double = 100, ask: Double = 100.02, product: String = "A") -> Tick {
        Tick(productId: product, eventTime: t, price: bid, bid: bid, ask: ask)
    }

    @Test("a single tick is warming up; two ticks give features")
    func warmUp() throws {
        var windows = FeatureWindows()
        #expect(windows.update(with: self.tick(1_762_932_000)) == nil)
        let fOptional = windows.update(with: self.tick(1_762_932_004, bid: 101, ask: 101.02))
        let f = try #require(fOptional)
        #expect(f.windowSize == 2)
        #expect(f.windowDuration == 4)
        #expect(f.tradeIntensity == 0.5)
        let (m1, m2) = ((100 + 100.02) / 2, (101 + 101.02) / 2)
        #expect(f.midpriceReturnMean == log(m2) - log(m1))
        #expect(f.midpriceReturnStd == 0)
        #expect(abs(f.bidAskSpread - 0.02) < 1e-12)
        #expect(f.orderBookImbalance == f.bidAskSpread / m2)
    }

    @Test("entries older than 60 s are evicted, together with their return")
    func eviction() throws {
        var windows = FeatureWindows()
        _ = windows.update(with: self.tick(1000, bid: 50, ask: 50))
        _ = windows.update(with: self.tick(1030, bid: 100, ask: 100))
        let fOptional = windows.update(with: self.tick(1061, bid: 110, ask: 110))
        let f = try #require(fOptional)
        #expect(f.windowSize == 2)
        #expect(f.windowDuration == 31)
        #expect(f.midpriceReturnMean == log(110.0) - log(100.0))  // the 50 → 100 return is gone
        #expect(f.midpriceReturnStd == 0)
        // Exactly 60 s old stays (only ts < now − 60 is dropped).
        let gOptional = windows.update(with: self.tick(1090, bid: 110, ask: 110))
        let g = try #require(gOptional)
        #expect(g.windowSize == 3)
        #expect(windows.update(with: self.tick(1200)) == nil)
        #expect(windows.windowSize(of: "A") == 1)
    }

    @Test("a zero-length window has infinite trade intensity")
    func zeroDuration() throws {
        var windows = FeatureWindows()
        _ = windows.update(with: self.tick(1000))
        let fOptional = windows.update(with: self.tick(1000))
        let f = try #require(fOptional)
        #expect(f.windowDuration == 0)
        #expect(f.tradeIntensity == .infinity)
    }

    @Test("products have independent windows")
    func products() {
        var windows = FeatureWindows()
        #expect(windows.update(with: self.tick(1000, product: "A")) == nil)
        #expect(windows.update(with: self.tick(1001, product: "B")) == nil)
        #expect(windows.update(with: self.tick(1002, product: "A"))?.windowSize == 2)
        #expect(windows.productCount == 2)
    }

    @Test("constant mid over a long run gives a standard deviation of exactly 0 (no drift)")
    func noDrift() throws {
        var windows = FeatureWindows()
        var mids: [Double] = []
        for i in 0..<20_000 {
            // Volatile start, then a long flat stretch.
            let mid = i < 1_000 ? 100 + Double((i * 7919) % 101) / 10 : 123.45
            mids.append(mid)
            let f = windows.update(with: self.tick(Double(i) * 0.5, bid: mid - 0.01, ask: mid + 0.01))
            if i > 1_200 {
                let features = try #require(f)
                #expect(features.midpriceReturnStd == 0)
                #expect(features.midpriceReturnMean == 0)
            }
        }
    }

    @Test("statistics equal a direct two-pass computation")
    func matchesDirectComputation() throws {
        var windows = FeatureWindows(windowSeconds: 10)
        var generator = SplitMix64(seed: 42)
        var history: [(t: Double, mid: Double, spread: Double)] = []
        var t = 0.0
        for _ in 0..<3_000 {
            t += Double(generator.next() % 1000) / 250
            let mid = 100 + Double(generator.next() % 10_000) / 1000
            let spread = Double(generator.next() % 100 + 1) / 1000
            history.append((t, mid, spread))
            history.removeAll { $0.t < t - 10 }
            let f = windows.update(with: Tick(productId: "A", eventTime: t, price: mid, bid: mid - spread / 2, ask: mid + spread / 2))
            guard history.count >= 2 else {
                #expect(f == nil)
                continue
            }
            let features = try #require(f)
            let mids = history.map { ($0.mid - $0.spread / 2 + $0.mid + $0.spread / 2) / 2 }
            let returns = zip(mids.dropFirst(), mids).map { log($0) - log($1) }
            let mean = returns.reduce(0, +) / Double(returns.count)
            let std = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count)).squareRoot()
            #expect(features.windowSize == history.count)
            #expect(nearlyEqual(features.midpriceReturnMean, mean, relative: 1e-9, absolute: 1e-13))
            #expect(nearlyEqual(features.midpriceReturnStd, std, relative: 1e-9, absolute: 1e-13))
        }
    }
}

/// Deterministic pseudo-random numbers for tests.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// Micro-benchmarks of consumerd's per-record hot path: decode (three input shapes) → features → XGBoost →
// encode, each alone and all together.
//
// Every benchmark processes one record per inner iteration (`scalingFactor: .kilo`: a measured sample is 1,000
// records), so throughput reads directly as records/s (K = thousands) and `mallocCountTotal` as mallocs per
// 1,000 records. Inputs are the bundled real Coinbase ticks (Tests/Fixtures/coinbase-btc-usd-ticker.ndjson,
// ingestor envelopes), plus raw tickers and featurizer messages synthesised from them.
//
// Run from Benchmarks/:  swift package --scratch-path .build benchmark

import Benchmark
import FeaturePipeline
import Foundation

/// Repository root, found from this file's path (Benchmarks/Benchmarks/HotPath/HotPath.swift).
private let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Inputs shared by all benchmarks, prepared once, outside the measured region.
private struct Inputs: @unchecked Sendable {
    /// Shape 3: ingestor envelopes (`{"ts":…,"pair":…,"raw":"<escaped ticker>"}`) as recorded, ticks only.
    var envelopes: [[UInt8]] = []
    /// Shape 2: the raw Coinbase tickers inside those envelopes.
    var rawTickers: [[UInt8]] = []
    /// Shape 1: featurizer messages with the same prices and times.
    var featurizer: [[UInt8]] = []
    /// Decoded ticks, in recorded order.
    var ticks: [Tick] = []
    /// Time span of `ticks`, used to shift event times forward on each pass so windows see monotonic time.
    var span: Double = 0
    var model: LoadedModel
    var features: [FeatureVector] = []
    var predictions: [Prediction] = []

    static let shared: Inputs = {
        do {
            return try Inputs()
        } catch {
            fatalError("benchmark inputs: \(error)")
        }
    }()

    init() throws {
        let fixture = repositoryRoot.appendingPathComponent("Tests/Fixtures/coinbase-btc-usd-ticker.ndjson")
        let data = try Data(contentsOf: fixture)
        self.model = try LoadedModel.load(
            variant: .ml,
            modelPath: repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            baselinePath: repositoryRoot.appendingPathComponent("config/models/baseline.json").path)
        let decoder = RecordDecoder()
        for line in data.split(separator: 0x0A) where !line.isEmpty {
            let bytes = Array(line)
            let decoded = try bytes.withUnsafeBytes {
                try decoder.decode($0, key: nil, kafkaTimestamp: nil, now: .greatestFiniteMagnitude)
            }
            guard case .tick(let tick) = decoded else { continue }  // control messages
            self.envelopes.append(bytes)
            self.ticks.append(tick)
            let object = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
            self.rawTickers.append(Array((object["raw"] as! String).utf8))
            let mid = (tick.bid + tick.ask) / 2
            let featurizer =
                "{\"timestamp\": \(tick.eventTime), \"product_id\": \"\(tick.productId)\", \"price\": \(tick.price), "
                + "\"midprice\": \(mid), \"spread_abs\": \(tick.ask - tick.bid), \"volume_24h\": 5461.74127717, "
                + "\"side\": \"buy\"}"
            self.featurizer.append(Array(featurizer.utf8))
        }
        self.span = (self.ticks.last!.eventTime - self.ticks.first!.eventTime) + 120
        var windows = FeatureWindows()
        for tick in self.ticks {
            guard let f = windows.update(with: tick) else { continue }
            let score = self.model.predict(f)
            self.features.append(f)
            self.predictions.append(
                Prediction(
                    productId: tick.productId, eventTime: tick.eventTime, price: tick.price, midprice: tick.midprice,
                    features: f, score: score))
        }
    }
}

/// Decodes `records` cyclically, one per inner iteration.
private func decodeBenchmark(_ benchmark: Benchmark, _ records: [[UInt8]]) {
    let decoder = RecordDecoder()
    let key: [UInt8] = Array("BTC-USD".utf8)
    var index = 0
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        let outcome = records[index].withUnsafeBytes { value in
            key.withUnsafeBytes { key in
                try? decoder.decode(value, key: key, kafkaTimestamp: 1_762_932_011, now: 1_900_000_000)
            }
        }
        blackHole(outcome)
        index &+= 1
        if index == records.count { index = 0 }
    }
    benchmark.stopMeasurement()
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .cpuTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    Benchmark.defaultConfiguration = configuration
    let inputs = Inputs.shared

    Benchmark("decode: featurizer message (shape 1)") { benchmark in
        decodeBenchmark(benchmark, inputs.featurizer)
    }
    Benchmark("decode: raw Coinbase ticker (shape 2)") { benchmark in
        decodeBenchmark(benchmark, inputs.rawTickers)
    }
    Benchmark("decode: ingestor envelope, escaped raw (shape 3)") { benchmark in
        decodeBenchmark(benchmark, inputs.envelopes)
    }

    // Steady state: the windows are warmed up by two passes before measuring; each pass shifts event times by
    // the data's span so time only moves forward (as in a live stream) and windows keep their steady size.
    Benchmark("features: FeatureWindows.update") { benchmark in
        var windows = FeatureWindows()
        var tick = inputs.ticks[0]
        var shift = 0.0
        for _ in 0..<2 {
            for t in inputs.ticks {
                tick.eventTime = t.eventTime + shift
                tick.bid = t.bid
                tick.ask = t.ask
                blackHole(windows.update(with: tick))
            }
            shift += inputs.span
        }
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let t = inputs.ticks[index]
            tick.eventTime = t.eventTime + shift
            tick.bid = t.bid
            tick.ask = t.ask
            blackHole(windows.update(with: tick))
            index &+= 1
            if index == inputs.ticks.count {
                index = 0
                shift += inputs.span
            }
        }
        benchmark.stopMeasurement()
    }

    Benchmark("predict: XGBoost 100 trees") { benchmark in
        let model = inputs.model
        let features = inputs.features
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(model.predict(features[index]))
            index &+= 1
            if index == features.count { index = 0 }
        }
        benchmark.stopMeasurement()
    }

    Benchmark("features + predict") { benchmark in
        featuresAndPredictBenchmark(benchmark)
    }

    Benchmark("encode: PredictionEncoder") { benchmark in
        let model = inputs.model
        let encoder = PredictionEncoder(modelVariant: model.variant, modelVersion: model.version, threshold: model.threshold)
        let predictions = inputs.predictions
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1024)
        var index = 0
        var offset: Int64 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            encoder.encode(
                predictions[index], processingTime: 1_795_417_020.87,
                source: RecordSource(topic: "ticks.features", partition: 7, offset: offset), into: &buffer)
            blackHole(buffer.count)
            offset &+= 1
            index &+= 1
            if index == predictions.count { index = 0 }
        }
        benchmark.stopMeasurement()
    }

    // The daemon's per-record work: RecordPipeline.process (size check, decode, window, predict) + encode,
    // on the recorded envelopes (the shape the production topic carries). Event times are taken from the
    // records (cycled, so a window briefly sees time go backwards at each wrap, as a replayed loop would).
    /// Window update + XGBoost on warmed-up windows; event times move forward on every pass, as in a live stream.
    func featuresAndPredictBenchmark(_ benchmark: Benchmark) {
        var windows = FeatureWindows()
        let model = inputs.model
        var tick = inputs.ticks[0]
        var shift = 0.0
        for _ in 0..<2 {
            for t in inputs.ticks {
                tick.eventTime = t.eventTime + shift
                tick.bid = t.bid
                tick.ask = t.ask
                blackHole(windows.update(with: tick))
            }
            shift += inputs.span
        }
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let t = inputs.ticks[index]
            tick.eventTime = t.eventTime + shift
            tick.bid = t.bid
            tick.ask = t.ask
            if let f = windows.update(with: tick) {
                blackHole(model.predict(f))
            }
            index &+= 1
            if index == inputs.ticks.count {
                index = 0
                shift += inputs.span
            }
        }
        benchmark.stopMeasurement()
    }

    /// ``featuresAndPredictBenchmark`` plus model-quality monitoring, as the daemon does per record: the label
    /// tracker sees the tick, a horizon is opened for the prediction, and the drift window records it. The
    /// difference between the two is the per-record cost of drift + labelling (horizons complete in the
    /// measured loop: H = 60 s of the recorded sessions, about 1,800 open horizons in the dense one).
    func qualityBenchmark(_ benchmark: Benchmark, labelling: Bool = true, driftWindow: Bool = true) {
        var windows = FeatureWindows()
        let model = inputs.model
        var labels = RealisedLabelTracker(settings: LabelSettings(horizonSeconds: 60, threshold: 2.8e-5))
        let reference = try! ReferenceProfile.load(
            path: repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.reference.json").path)
        var drift = DriftMonitor(reference: reference)
        var tick = inputs.ticks[0]
        var shift = 0.0
        var offset: Int64 = 0
        let active = HorizonScore(role: .active, variant: .ml, version: model.version, probability: 0, prediction: 0)
        func one(_ t: Tick) {
            tick.eventTime = t.eventTime + shift
            tick.bid = t.bid
            tick.ask = t.ask
            if labelling { labels.beginRecord() }
            let features = windows.update(with: tick)
            if labelling { labels.observe(productId: tick.productId, eventTime: tick.eventTime, midprice: tick.midprice) }
            if let f = features {
                let score = model.predict(f)
                var scored = active
                scored.probability = score.probability
                scored.prediction = score.prediction
                if labelling {
                    labels.openAtLastTick(
                        source: RecordSource(topic: "ticks.features", partition: 7, offset: offset), first: scored)
                }
                if driftWindow { drift.record(features: f, probability: score.probability, prediction: score.prediction) }
            }
            blackHole(labels.completed.count)
            offset &+= 1
        }
        for _ in 0..<2 {
            for t in inputs.ticks { one(t) }
            shift += inputs.span
        }
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            one(inputs.ticks[index])
            index &+= 1
            if index == inputs.ticks.count {
                index = 0
                shift += inputs.span
            }
        }
        benchmark.stopMeasurement()
    }

    func pipelineBenchmark(_ benchmark: Benchmark, _ records: [[UInt8]]) {
        let model = inputs.model
        var pipeline = RecordPipeline(model: model)
        let encoder = PredictionEncoder(modelVariant: model.variant, modelVersion: model.version, threshold: model.threshold)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1024)
        let key: [UInt8] = Array("BTC-USD".utf8)
        var offset: Int64 = 0
        func one(_ value: [UInt8]) {
            let outcome = value.withUnsafeBytes { value in
                key.withUnsafeBytes { key in
                    pipeline.process(value: value, key: key, kafkaTimestamp: 1_762_932_011, now: 1_900_000_000, timings: nil)
                }
            }
            if case .prediction(let prediction) = outcome {
                encoder.encode(
                    prediction, processingTime: 1_795_417_020.87,
                    source: RecordSource(topic: "ticks.features", partition: 7, offset: offset), into: &buffer)
            }
            blackHole(buffer.count)
            offset &+= 1
        }
        for _ in 0..<2 { for value in records { one(value) } }  // warm-up: windows at steady size
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            one(records[index])
            index &+= 1
            if index == records.count { index = 0 }
        }
        benchmark.stopMeasurement()
    }

    // The same two paths unscaled (one record per sample), so `mallocCountTotal` is an exact per-record count
    // rather than a per-1,000 count divided down (which would hide a fraction of a malloc per record).
    let unscaled = Benchmark.Configuration(
        metrics: [.mallocCountTotal, .wallClock], scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 200_000)
    Benchmark("exact mallocs: features + predict, 1 record per sample", configuration: unscaled) { benchmark in
        featuresAndPredictBenchmark(benchmark)
    }
    Benchmark("features + predict + labels + drift") { benchmark in
        qualityBenchmark(benchmark)
    }
    Benchmark("features + predict + labels") { benchmark in
        qualityBenchmark(benchmark, driftWindow: false)
    }
    Benchmark("features + predict + drift") { benchmark in
        qualityBenchmark(benchmark, labelling: false)
    }
    Benchmark("exact mallocs: features + predict + labels + drift, 1 record per sample", configuration: unscaled) {
        benchmark in
        qualityBenchmark(benchmark)
    }
    Benchmark("exact mallocs: pipeline, envelopes, 1 record per sample", configuration: unscaled) { benchmark in
        pipelineBenchmark(benchmark, inputs.envelopes)
    }

    Benchmark("pipeline: process + encode, envelopes (shape 3)") { benchmark in
        pipelineBenchmark(benchmark, inputs.envelopes)
    }
    Benchmark("pipeline: process + encode, featurizer (shape 1)") { benchmark in
        pipelineBenchmark(benchmark, inputs.featurizer)
    }
}

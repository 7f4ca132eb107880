import FeaturePipeline
import Foundation
import Testing

@testable import consumerd

/// The handler's per-partition pipelines: dense partition numbers and numbers outside the dense range (negative,
/// huge) each keep their own state, exactly as one ``RecordPipeline`` per partition would.
@Suite("Partition pipelines")
struct PartitionPipelinesTests {
    static let partitions: [Int32] = [0, 5, -1, PartitionPipelines.denseLimit + 4_464]

    static func ticks() throws -> [[UInt8]] {
        let text = try String(
            contentsOf: TestPaths.repositoryRoot.appendingPathComponent("Tests/Fixtures/coinbase-btc-usd-ticker.ndjson"),
            encoding: .utf8)
        return text.split(separator: "\n").prefix(400).map { Array($0.utf8) }
    }

    static func template() throws -> RecordPipeline {
        let path = TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path
        return RecordPipeline(model: try LoadedModel.load(variant: .ml, modelPath: path, baselinePath: ""))
    }

    static func process(_ pipeline: inout RecordPipeline, _ value: [UInt8]) -> RecordOutcome {
        value.withUnsafeBytes {
            pipeline.process(value: $0, key: nil, kafkaTimestamp: nil, now: 1_900_000_000, timings: nil)
        }
    }

    @Test("each partition's outcomes equal those of a pipeline of its own, with the records interleaved")
    func partitionsAreIndependent() throws {
        let ticks = try Self.ticks()
        let template = try Self.template()
        var pipelines = PartitionPipelines()
        var references = Self.partitions.map { _ in template }
        var predictions = 0
        // Partition k sees every record from the k-th on, so their windows differ.
        for (i, value) in ticks.enumerated() {
            for (k, partition) in Self.partitions.enumerated() where i >= k * 7 {
                let outcome = Self.process(&pipelines[partition, default: template], value)
                #expect(outcome == Self.process(&references[k], value), "partition \(partition), record \(i)")
                if case .prediction = outcome { predictions += 1 }
            }
        }
        #expect(predictions > 1_000)
        #expect(pipelines.productCount == references.reduce(0) { $0 + $1.productCount })
        #expect(pipelines.productCount == Self.partitions.count)
    }

    @Test("a removed partition starts again from empty state; updateAll reaches every partition")
    func removeAndUpdateAll() throws {
        let ticks = try Self.ticks()
        let template = try Self.template()
        var pipelines = PartitionPipelines()
        for value in ticks {
            for partition in Self.partitions { _ = Self.process(&pipelines[partition, default: template], value) }
        }
        for partition in Self.partitions {
            pipelines.remove(partition)
            #expect(pipelines.productCount == Self.partitions.count - 1)
            var fresh = template
            #expect(Self.process(&pipelines[partition, default: template], ticks[1]) == Self.process(&fresh, ticks[1]))
        }
        var visited = 0
        pipelines.updateAll { pipeline in
            visited += 1
            pipeline.resetWindows()
        }
        #expect(visited == Self.partitions.count)
        #expect(pipelines.productCount == 0)
    }
}

import StreamConsumer
import Testing

@Suite struct PartitionProgressTests {
    @Test func watermarkMovesOnlyOverTheCompletedPrefix() {
        var progress = PartitionProgress(generation: 1)
        let a = progress.register(offset: 10)
        let b = progress.register(offset: 11)
        let c = progress.register(offset: 12)
        progress.complete(sequence: c)
        #expect(progress.committableOffset == nil)
        #expect(progress.takeDirty() == nil)
        progress.complete(sequence: a)
        #expect(progress.committableOffset == 11)
        #expect(progress.takeDirty() == 11)
        #expect(progress.takeDirty() == nil)
        progress.complete(sequence: b)
        #expect(progress.committableOffset == 13)
        #expect(progress.pendingCount == 0)
    }

    @Test func gapsInOffsetsAreFollowed() {
        var progress = PartitionProgress(generation: 1)
        let first = progress.register(offset: 5)
        let second = progress.register(offset: 9)  // 6…8 were transaction markers or compacted away
        progress.complete(sequence: second)
        progress.complete(sequence: first)
        #expect(progress.committableOffset == 10)
    }

    @Test func completingTwiceOrUnknownSequencesChangesNothing() {
        var progress = PartitionProgress(generation: 1)
        let first = progress.register(offset: 0)
        _ = progress.register(offset: 1)
        progress.complete(sequence: first)
        progress.complete(sequence: first)
        progress.complete(sequence: 99)
        progress.complete(sequence: -1)
        #expect(progress.committableOffset == 1)
        #expect(progress.pendingCount == 1)
    }

    @Test func manyOutOfOrderCompletionsEndAtTheLastOffset() {
        var progress = PartitionProgress(generation: 3)
        var sequences: [Int] = []
        for offset in 0..<20_000 { sequences.append(progress.register(offset: Int64(offset))) }
        // Complete in a scrambled but deterministic order.
        var order = sequences
        for index in order.indices { order.swapAt(index, (index * 7919) % order.count) }
        var lastWatermark: Int64 = -1
        for sequence in order {
            progress.complete(sequence: sequence)
            if let watermark = progress.committableOffset {
                #expect(watermark >= lastWatermark)
                lastWatermark = watermark
            }
        }
        #expect(progress.committableOffset == 20_000)
        #expect(progress.pendingCount == 0)
    }
}

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

    // MARK: - expectOutputs(sequence:count:)

    @Test func inputWithSeveralOutputsCompletesAfterTheLast() {
        var progress = PartitionProgress(generation: 1)
        let input = progress.register(offset: 40)
        progress.expectOutputs(sequence: input, count: 3)
        progress.complete(sequence: input)
        progress.complete(sequence: input)
        #expect(progress.committableOffset == nil)
        #expect(progress.pendingCount == 1)
        progress.complete(sequence: input)
        #expect(progress.committableOffset == 41)
        #expect(progress.takeDirty() == 41)
        // A fourth completion is ignored.
        progress.complete(sequence: input)
        #expect(progress.takeDirty() == nil)
    }

    @Test func inputWithNoOutputCompletesAtOnce() {
        var progress = PartitionProgress(generation: 1)
        let input = progress.register(offset: 7)
        #expect(progress.committableOffset == nil)
        progress.expectOutputs(sequence: input, count: 0)
        #expect(progress.committableOffset == 8)
        #expect(progress.isDirty)
        #expect(progress.pendingCount == 0)
    }

    @Test func inputWithNoOutputWaitsBehindAnEarlierIncompleteOne() {
        var progress = PartitionProgress(generation: 1)
        let first = progress.register(offset: 0)
        let second = progress.register(offset: 1)
        let third = progress.register(offset: 2)
        progress.expectOutputs(sequence: first, count: 2)
        progress.expectOutputs(sequence: second, count: 0)
        progress.expectOutputs(sequence: third, count: 0)
        #expect(progress.committableOffset == nil)
        progress.complete(sequence: first)
        #expect(progress.committableOffset == nil)
        progress.complete(sequence: first)
        #expect(progress.committableOffset == 3)
        #expect(progress.pendingCount == 0)
    }

    @Test func outOfOrderCompletionsWithSeveralOutputsMoveOnlyTheCompletedPrefix() {
        var progress = PartitionProgress(generation: 1)
        let a = progress.register(offset: 10)
        let b = progress.register(offset: 11)
        let c = progress.register(offset: 12)
        progress.expectOutputs(sequence: a, count: 1)
        progress.expectOutputs(sequence: b, count: 2)
        progress.expectOutputs(sequence: c, count: 2)
        progress.complete(sequence: c)
        progress.complete(sequence: b)
        progress.complete(sequence: a)
        #expect(progress.committableOffset == 11)
        progress.complete(sequence: c)
        #expect(progress.committableOffset == 11)
        progress.complete(sequence: b)
        #expect(progress.committableOffset == 13)
    }

    @Test func expectOutputsOfCompletedOrUnknownSequencesChangesNothing() {
        var progress = PartitionProgress(generation: 1)
        let first = progress.register(offset: 0)
        let second = progress.register(offset: 1)
        progress.complete(sequence: first)
        #expect(progress.committableOffset == 1)
        // Already complete: cannot be reopened.
        progress.expectOutputs(sequence: first, count: 5)
        progress.expectOutputs(sequence: 99, count: 0)
        progress.expectOutputs(sequence: -1, count: 0)
        #expect(progress.committableOffset == 1)
        #expect(progress.pendingCount == 1)
        // A negative count is taken as none.
        progress.expectOutputs(sequence: second, count: -3)
        #expect(progress.committableOffset == 2)
    }

    @Test func sequencesStayValidAcrossCompaction() {
        var progress = PartitionProgress(generation: 1)
        let first = progress.register(offset: 0)
        progress.expectOutputs(sequence: first, count: 0)  // everything complete: the buffers are compacted
        let second = progress.register(offset: 1)
        #expect(second == first + 1)
        progress.expectOutputs(sequence: second, count: 2)
        progress.complete(sequence: second)
        progress.complete(sequence: first)  // stale: ignored
        #expect(progress.committableOffset == 1)
        progress.complete(sequence: second)
        #expect(progress.committableOffset == 2)
    }
}

import Crdkafka
import Foundation
import Synchronization
import Testing

@testable import StreamConsumer

/// The handler stage without a broker: batches decided on the stage's own thread give exactly what the handler
/// gives one record at a time on the calling thread, in order, and the handler is never used by two threads.
@Suite("Handler stage")
struct HandlerStageTests {
    /// `count` records on 4 partitions (record i → partition i mod 4, value "v<i>"), in memory of their own,
    /// with a zeroed librdkafka message each standing in for the fetched one (never passed to librdkafka).
    final class Fixture {
        let records: [ConsumedRecord]
        let messages: [UnsafeMutablePointer<rd_kafka_message_t>]
        private let values: [UnsafeMutableRawBufferPointer]

        init(count: Int) {
            var records: [ConsumedRecord] = []
            var messages: [UnsafeMutablePointer<rd_kafka_message_t>] = []
            var values: [UnsafeMutableRawBufferPointer] = []
            for i in 0..<count {
                let bytes = Array("v\(i)".utf8)
                let value = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
                value.copyBytes(from: bytes)
                values.append(value)
                let message = UnsafeMutablePointer<rd_kafka_message_t>.allocate(capacity: 1)
                message.initialize(to: rd_kafka_message_t())
                messages.append(message)
                records.append(ConsumedRecord(
                    topic: "in", partition: Int32(i % 4), offset: Int64(i / 4), key: nil,
                    value: UnsafeRawBufferPointer(value), timestamp: nil))
            }
            self.records = records
            self.messages = messages
            self.values = values
        }

        func admitted(_ index: Int) -> RecordBatch.Admitted {
            let record = records[index]
            return RecordBatch.Admitted(
                message: messages[index],
                ticket: InputTicket(partition: record.partition, generation: 1, sequence: Int(record.offset)),
                timestamp: nil, timestampMs: nil)
        }

        func batch(_ range: Range<Int>, id: Int = 0) -> RecordBatch {
            var batch = RecordBatch(id: id)
            fill(&batch, range)
            return batch
        }

        /// Appends records `range` as the driver admits them; with a `preparing` handler, each is prepared into
        /// the batch's slot first.
        func fill(_ batch: inout RecordBatch, _ range: Range<Int>, preparing handler: (any RecordHandler)? = nil) {
            for index in range {
                var entry = admitted(index)
                if let handler {
                    let slot = PreparedSlot(batch: batch.id, index: batch.count)
                    handler.prepare(records[index], in: slot)
                    entry.prepared = slot
                }
                batch.append(entry, record: records[index])
            }
        }

        deinit {
            for value in values { value.deallocate() }
            for message in messages { message.deallocate() }
        }
    }

    /// A stateful handler: each output depends on every earlier record of its partition (a running count), so
    /// a reordered or skipped record shows. Records which thread called it and whether two calls overlapped.
    final class CountingHandler: RecordHandler, @unchecked Sendable {
        // Unchecked: `counts` is the handler's state, used by one thread at a time — what the tests check, with
        // the atomics below.
        private var counts: [Int32: Int] = [:]
        let calls = Atomic<Int>(0)
        let inUse = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
        private let threads = Mutex<Set<UInt>>([])
        /// When set, the first call waits for it (to hold a batch in the stage).
        let gate: DispatchSemaphore?

        /// With `prepares`, the record's value is read in ``prepare(_:in:)`` (on the submitting thread) and taken
        /// from the slot in ``handle(_:prepared:output:extras:)``, as a decoding step would be.
        let prepares: Bool
        private let preparedValues: UnsafeMutableBufferPointer<String>
        private let preparingThreads = Mutex<Set<UInt>>([])
        /// Prepared values that did not match the record handled from their slot.
        let preparedMismatches = Atomic<Int>(0)

        init(gate: DispatchSemaphore? = nil, prepares: Bool = false) {
            self.gate = gate
            self.prepares = prepares
            preparedValues = .allocate(capacity: PreparedSlot.batches * PreparedSlot.capacity)
            preparedValues.initialize(repeating: "")
        }

        deinit {
            preparedValues.deinitialize()
            preparedValues.deallocate()
        }

        var callingThreads: Set<UInt> { threads.withLock { $0 } }
        var prepareThreads: Set<UInt> { preparingThreads.withLock { $0 } }

        var preparesRecords: Bool { prepares }

        func prepare(_ record: ConsumedRecord, in slot: PreparedSlot) {
            preparingThreads.withLock { _ = $0.insert(UInt(pthread_self())) }
            preparedValues[slot.offset] = String(decoding: record.value, as: UTF8.self)
        }

        func handle(_ record: ConsumedRecord, prepared slot: PreparedSlot, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition {
            if preparedValues[slot.offset] != String(decoding: record.value, as: UTF8.self) {
                preparedMismatches.add(1, ordering: .relaxed)
            }
            preparedValues[slot.offset] = ""
            return handle(record, output: &output, extras: &extras)
        }

        func handle(_ record: ConsumedRecord, output: inout [UInt8]) -> RecordDisposition {
            var extras = ExtraOutputs()
            return handle(record, output: &output, extras: &extras)
        }

        func handle(_ record: ConsumedRecord, output: inout [UInt8], extras: inout ExtraOutputs) -> RecordDisposition {
            if inUse.add(1, ordering: .acquiringAndReleasing).oldValue != 0 { overlaps.add(1, ordering: .relaxed) }
            defer { inUse.subtract(1, ordering: .acquiringAndReleasing) }
            threads.withLock { _ = $0.insert(UInt(pthread_self())) }
            if calls.add(1, ordering: .acquiringAndReleasing).oldValue == 0 { gate?.wait() }
            let n = counts[record.partition, default: 0] + 1
            counts[record.partition] = n
            let value = String(decoding: record.value, as: UTF8.self)
            output.removeAll(keepingCapacity: true)
            output.append(contentsOf: "\(value)#\(n)".utf8)
            if n % 3 == 0 {
                extras.append(topic: ExtraTopic(0), key: "k\(record.partition)", value: Array("extra \(value)".utf8))
            }
            return n % 5 == 0 ? .skip : .publish(key: "p\(record.partition)", kind: .extra(ExtraTopic(1)))
        }
    }

    /// What one record became, comparable.
    struct Decided: Equatable {
        var disposition: String
        var output: String
        var extras: [String]

        init(_ disposition: RecordDisposition, _ output: [UInt8], _ extras: ExtraOutputs) {
            switch disposition {
            case .skip: self.disposition = "skip"
            case .publish(let key, let kind): self.disposition = "publish \(key) \(kind)"
            case .deadLetter(let letter): self.disposition = "dead letter \(letter.errorType)"
            }
            self.output = String(decoding: output, as: UTF8.self)
            var rendered: [String] = []
            for index in 0..<extras.count {
                extras.withOutput(at: index) { topic, key, value in
                    rendered.append("\(topic.index) \(String(decoding: key, as: UTF8.self)) \(String(decoding: value, as: UTF8.self))")
                }
            }
            self.extras = rendered
        }
    }

    static func decided(_ batch: RecordBatch) -> [Decided] {
        var batch = batch
        var decided: [Decided] = []
        for index in 0..<batch.count {
            let slot = batch.takeSlot(index)  // as the driver produces them
            decided.append(Decided(slot.disposition, slot.output, slot.extras))
        }
        return decided
    }

    @Test("batches decided on the stage's thread equal the records handled one by one, in order", arguments: [false, true])
    func pipelineMatchesOneByOne(preparing: Bool) {
        let fixture = Fixture(count: 2_000)
        let inline = CountingHandler()
        var expected: [Decided] = []
        var output: [UInt8] = []
        var extras = ExtraOutputs()
        for record in fixture.records {
            extras.removeAll()
            let disposition = inline.handle(record, output: &output, extras: &extras)
            expected.append(Decided(disposition, output, extras))
        }

        let staged = CountingHandler(prepares: preparing)
        let stage = HandlerStage(handler: staged, spare: RecordBatch(id: 2))
        var collecting = RecordBatch(id: 0)
        var finishing = RecordBatch(id: 1)
        var actual: [Decided] = []
        // As the driver runs it: take the decided batch back, hand over the collected one, read the decided one
        // while the stage works; uneven batch sizes, and buffers reused from batch to batch.
        let sizes = [1, 512, 7, 300, 64, 2]
        var start = 0
        var round = 0
        while start < fixture.records.count || stage.holdsBatch {
            let end = min(start + sizes[round % sizes.count], fixture.records.count)
            round += 1
            fixture.fill(&collecting, start..<end, preparing: preparing ? staged : nil)
            start = end
            stage.take(into: &finishing)
            if !collecting.isEmpty { stage.submit(&collecting) }
            #expect(collecting.isEmpty, "the stage gives an empty batch back for the one it takes")
            actual += Self.decided(finishing)
            finishing.removeAll()
        }
        stage.stop()

        #expect(actual.count == expected.count)
        #expect(actual == expected)
        #expect(expected.contains { $0.disposition == "skip" } && expected.contains { !$0.extras.isEmpty })
        #expect(staged.overlaps.load(ordering: .acquiring) == 0)
        let caller = UInt(pthread_self())
        #expect(inline.callingThreads == [caller])
        #expect(staged.callingThreads.count == 1 && !staged.callingThreads.contains(caller), "decided on the stage's own thread")
        if preparing {
            #expect(staged.prepareThreads == [caller], "prepared on the submitting thread")
            #expect(staged.preparedMismatches.load(ordering: .acquiring) == 0, "a record was handled with another record's prepared value")
        }
    }

    @Test("quiesce returns only once the batch in the stage is decided, so the handler is free to use")
    func quiesceWaitsForTheBatch() {
        let fixture = Fixture(count: 50)
        let gate = DispatchSemaphore(value: 0)
        let handler = CountingHandler(gate: gate)
        let stage = HandlerStage(handler: handler, spare: RecordBatch(id: 2))
        var batch = fixture.batch(0..<50)
        #expect(stage.isReady, "an idle stage is ready")
        stage.submit(&batch)
        #expect(stage.phase == .deciding)
        #expect(stage.holdsBatch)
        #expect(!stage.isReady, "held at the gate: not ready")
        // The handler is held at its first record until another thread opens the gate.
        let opener = Thread {
            let deadline = Date().addingTimeInterval(60)
            while handler.calls.load(ordering: .acquiring) == 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            gate.signal()
        }
        opener.start()
        stage.quiesce()
        #expect(handler.calls.load(ordering: .acquiring) == 50, "every record was decided before quiesce returned")
        #expect(handler.inUse.load(ordering: .acquiring) == 0)
        #expect(stage.phase == .decided)
        #expect(stage.isReady)

        // The handler may now be used here; the decided batch is still there to take.
        var output: [UInt8] = []
        _ = handler.handle(fixture.records[0], output: &output)
        var decided = RecordBatch(id: 1)
        #expect(stage.take(into: &decided))
        #expect(decided.count == 50)
        #expect(Self.decided(decided).first?.output == "v0#1")
        #expect(stage.phase == .idle)
        #expect(!stage.take(into: &decided), "nothing more to take")
        stage.stop()
        #expect(stage.phase == .stopped)
        #expect(handler.overlaps.load(ordering: .acquiring) == 0)
    }

    /// A stage with a batch of `records` records submitted to it, its handler, and the fixture the records point
    /// into (keep it alive until the stage has stopped).
    static func submitted(records: Int) -> (Fixture, CountingHandler, HandlerStage) {
        let fixture = Fixture(count: records)
        let handler = CountingHandler()
        let stage = HandlerStage(handler: handler, spare: RecordBatch(id: 2))
        var batch = fixture.batch(0..<records)
        stage.submit(&batch)
        return (fixture, handler, stage)
    }

    @Test("a stage that finished its batch says so without being waited for")
    func readyOnceDecided() {
        let (fixture, handler, stage) = Self.submitted(records: 200)
        defer { withExtendedLifetime(fixture) {} }
        let deadline = Date().addingTimeInterval(60)
        while !stage.isReady, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        #expect(stage.isReady)
        #expect(stage.phase == .deciding, "nothing was waited for yet")
        #expect(handler.calls.load(ordering: .acquiring) == 200, "ready only after the whole batch")
        var decided = RecordBatch(id: 1)
        #expect(stage.take(into: &decided))
        #expect(decided.count == 200)
        stage.stop()
    }

    @Test("stop waits for the batch being decided, then ends the thread")
    func stopAfterABatch() {
        let (fixture, handler, stage) = Self.submitted(records: 100)
        defer { withExtendedLifetime(fixture) {} }
        stage.stop()
        #expect(stage.phase == .stopped)
        #expect(handler.calls.load(ordering: .acquiring) == 100)
        stage.stop()  // a second stop is harmless
        #expect(stage.phase == .stopped)
    }

    @Test("records dropped from a batch before it is decided are released, and the rest keep their order and slots")
    func removeUndecided() {
        let fixture = Fixture(count: 12)
        var batch = fixture.batch(0..<12)
        var released: [Int64] = []
        batch.removeUndecided(where: { $0.ticket.partition == 1 }, release: { released.append(Int64($0.ticket.sequence)) })
        #expect(released == [0, 1, 2], "records 1, 5 and 9 (partition 1, offsets 0–2)")
        #expect(batch.count == 9)
        #expect(batch.admitted.map(\.ticket.partition) == [0, 2, 3, 0, 2, 3, 0, 2, 3])
        batch.decide(with: CountingHandler())
        #expect(Self.decided(batch).map(\.output) == ["v0#1", "v2#1", "v3#1", "v4#2", "v6#2", "v7#2", "v8#3", "v10#3", "v11#3"])
        batch.finished = batch.count
        #expect(batch.isFinished)
        batch.removeAll()
        #expect(batch.isEmpty && batch.finished == 0)
    }
}

@testable import StreamConsumer
import Testing

/// A hand-driven monotonic clock: the engine reads no clock, every event carries `now`.
struct FakeClock {
    /// Starts well away from 0 so that the first store interval (measured from 0) has already elapsed.
    var now: UInt64 = 1_000_000_000

    mutating func advance(ms: UInt64) {
        now += ms * 1_000_000
    }
}

typealias AtLeastOnceEngine = DeliveryEngine<AtLeastOnceCommits>
typealias ExactlyOnceEngine = DeliveryEngine<ExactlyOnceCommits>

let millis: UInt64 = 1_000_000

func makeAtLeastOnce(
    maxInflight: Int = 100, retryInitialMs: UInt64 = 100, retryMaximumMs: UInt64 = 800, rebuild: Bool = true,
    fetchStallMs: UInt64 = 0, offsetWhenNothingCommitted: Int64? = PartitionOffset.beginning
) -> AtLeastOnceEngine {
    AtLeastOnceEngine(
        options: .init(
            maxInflight: maxInflight, retryInitialNanos: retryInitialMs * millis,
            retryMaximumNanos: retryMaximumMs * millis, rebuildEnabled: rebuild,
            fetchStallNanos: fetchStallMs * millis, offsetWhenNothingCommitted: offsetWhenNothingCommitted
        ),
        commits: AtLeastOnceCommits()
    )
}

func makeExactlyOnce(
    maxRecords: Int = 100, maxAgeMillis: Int = 1_000, maxInflight: Int = 100, rebuild: Bool = true
) -> ExactlyOnceEngine {
    ExactlyOnceEngine(
        options: .init(
            maxInflight: maxInflight, retryInitialNanos: 100 * millis, retryMaximumNanos: 800 * millis,
            rebuildEnabled: rebuild
        ),
        commits: ExactlyOnceCommits(maxRecords: maxRecords, maxAgeMillis: maxAgeMillis)
    )
}

let prediction = OutputKind.prediction(label: 1, probability: 0.9)
let deadLetter = OutputKind.deadLetter(errorType: "schema_error")

/// What the engine answered at each step of bringing partitions to active.
struct Activation {
    var assigned: [EngineAction] = []
    var lookUpTick: [EngineAction] = []
    var committed: [EngineAction] = []
    var resumeTick: [EngineAction] = []
}

extension DeliveryEngine {
    /// assigned → tick (expects `.lookUpCommitted`) → committedOffsets → (rebuild → rebuildFinished) → tick
    /// (expects `.resume` of every id unless `expectResume` is false).
    @discardableResult
    mutating func activate(
        _ ids: [Int32], committed: [Int32: Int64?], incremental: Bool = false, now: UInt64,
        expectResume: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Activation {
        var trace = Activation()
        let sortedIDs = ids.sorted()
        trace.assigned = assigned(ids, incremental: incremental, now: now)
        #expect(trace.assigned.contains(.pause(sortedIDs)), "assigned must pause \(sortedIDs): \(trace.assigned)", sourceLocation: sourceLocation)
        trace.lookUpTick = tick(now: now, idle: true)
        #expect(trace.lookUpTick.contains(.lookUpCommitted(sortedIDs)), "tick must look up \(sortedIDs): \(trace.lookUpTick)", sourceLocation: sourceLocation)
        for id in sortedIDs {
            #expect(partitions[id]?.phase == .awaitingCommitted(rewind: false), sourceLocation: sourceLocation)
        }
        trace.committed = committedOffsets(committed, now: now)
        for case .rebuild(let partition, _) in trace.committed {
            #expect(partitions[partition]?.phase == .rebuilding, sourceLocation: sourceLocation)
            rebuildFinished(partition: partition, now: now)
        }
        for id in sortedIDs {
            #expect(partitions[id]?.phase == .active, sourceLocation: sourceLocation)
        }
        trace.resumeTick = tick(now: now, idle: true)
        if expectResume {
            #expect(trace.resumeTick.contains(.resume(sortedIDs)), "tick must resume \(sortedIDs): \(trace.resumeTick)", sourceLocation: sourceLocation)
            for id in sortedIDs {
                #expect(partitions[id]?.fetchPaused == false, sourceLocation: sourceLocation)
            }
        }
        return trace
    }

    /// fetched → (handle) → `outputs` outputs created → inputHandled. Returns the ticket and the output slots.
    @discardableResult
    mutating func handle(
        partition: Int32, offset: Int64, outputs count: Int = 1, kinds: [OutputKind]? = nil, now: UInt64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> (ticket: InputTicket, slots: [Int]) {
        let decision = fetched(partition: partition, offset: offset, timestamp: nil, now: now)
        guard case .handle(let ticket, _) = decision else {
            Issue.record("expected .handle for \(partition)@\(offset), got \(decision)", sourceLocation: sourceLocation)
            return (InputTicket(partition: partition, generation: 0, sequence: -1), [])
        }
        var slots: [Int] = []
        for index in 0..<count {
            let kind = kinds?[index] ?? prediction
            slots.append(outputCreated(for: ticket, kind: kind, sourceTimestamp: nil, now: now))
        }
        inputHandled(ticket)
        return (ticket, slots)
    }

    /// Acknowledges every slot; expects each to be known.
    mutating func deliver(_ slots: [Int], now: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        for slot in slots {
            let decision = delivered(slot: slot, result: .delivered, now: now)
            guard case .acknowledged = decision else {
                Issue.record("slot \(slot) not acknowledged: \(decision)", sourceLocation: sourceLocation)
                continue
            }
        }
    }

    func watermark(_ partition: Int32) -> Int64? {
        partitions[partition]?.progress.committableOffset
    }
}

extension Array where Element == EngineAction {
    var storedOffsets: [PartitionOffset]? {
        for case .storeOffsets(let offsets) in self { return offsets }
        return nil
    }

    var commitOffsetsSent: [PartitionOffset]? {
        for case .commitOffsets(let offsets) in self { return offsets }
        return nil
    }

    var resumed: [Int32]? {
        for case .resume(let ids) in self { return ids }
        return nil
    }

    var paused: [Int32]? {
        for case .pause(let ids) in self { return ids }
        return nil
    }

    var seeks: [PartitionOffset]? {
        for case .seek(let offsets) in self { return offsets }
        return nil
    }

    var resetStates: [Int32]? {
        for case .resetState(let ids) in self { return ids }
        return nil
    }

    var rebuilds: [PartitionOffset] {
        var result: [PartitionOffset] = []
        for case .rebuild(let partition, let before) in self { result.append(PartitionOffset(partition: partition, offset: before)) }
        return result
    }

    var reproducedSlots: [Int] {
        var result: [Int] = []
        for case .produceAgain(let slot) in self { result.append(slot) }
        return result
    }

    var droppedRetries: [Int] {
        var result: [Int] = []
        for case .dropRetry(let slot) in self { result.append(slot) }
        return result
    }

    var transactionCommits: [[PartitionOffset]] {
        var result: [[PartitionOffset]] = []
        for case .commitTransaction(let offsets) in self { result.append(offsets) }
        return result
    }

    var aborts: Int { filter { $0 == .abortTransaction }.count }

    func index(of action: EngineAction) -> Int? { firstIndex(of: action) }
}

func at(_ partition: Int32, _ offset: Int64) -> PartitionOffset {
    PartitionOffset(partition: partition, offset: offset)
}

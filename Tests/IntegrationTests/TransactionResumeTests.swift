import Foundation
@testable import StreamConsumer
import Synchronization
import Testing

/// Exactly-once with a transaction coordinator that keeps answering EndTxn "concurrent transactions" for longer
/// than the transactional calls' bound (10 s): the commit times out, librdkafka goes on with it in the
/// background, and the processor must resume it — with `rd_kafka_commit_transaction` alone once the offsets were
/// sent. Before, the retry sent the offsets again and
/// librdkafka answered `__CONFLICT` ("Conflicting commit_transaction API call is already in progress") on every
/// attempt: no transaction ever committed again.
@Suite(.serialized) struct TransactionResumeTests {
    @Test func aCommitThatTimesOutIsResumedAndProcessingGoesOn() throws {
        let cluster = try MockCluster(brokers: 2)
        var scenario = try RebuildScenario(cluster: cluster, inputPartitions: 1, outputPartitions: 1, history: 40)
        let group = "txn-resume"
        let transactionalId = "txn-resume-1"
        try cluster.setLeader(topic: RebuildScenario.topics.input, partition: 0, broker: 1)
        try cluster.setLeader(topic: RebuildScenario.topics.output, partition: 0, broker: 1)
        try cluster.setLeader(topic: RebuildScenario.topics.deadLetter, partition: 0, broker: 1)
        try cluster.setCoordinator(kind: "group", key: group, broker: 1)
        try cluster.setCoordinator(kind: "transaction", key: transactionalId, broker: 2)
        scenario.backlog = 40
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        try scenario.produce(0..<scenario.history, with: producer)

        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let phase = Mutex(0)
        let committedAtResume = Mutex(0)
        let later = 20
        let total = scenario.history + scenario.backlog + later
        func resumed() -> Int {
            scenario.logs.entries.withLock { $0.filter { $0.message == "transaction commit will be resumed" }.count }
        }
        try scenario.runProcessor(group: group, maxRecords: 0, handler: handler, observer: observer, timeoutSeconds: 150, configure: {
            $0.guarantee = .exactlyOnce(ExactlyOnceOptions(transactionalId: transactionalId))
        }) {
            let handled = handler.state.withLock { $0.handledOffsets.count }
            let committed = observer.state.withLock { $0.commitsOK }
            switch phase.withLock({ $0 }) {
            case 0:
                // The history is handled and committed. The coordinator now answers EndTxn with
                // CONCURRENT_TRANSACTIONS 130 times: librdkafka retries every 100 ms, ~13 s, past the 10 s bound.
                guard handled >= scenario.history, committed > 0 else { return false }
                cluster.pushRequestErrors(apiKey: 26, errorCode: 51, count: 130)
                do {
                    try scenario.produce(scenario.history..<(scenario.history + scenario.backlog), with: producer)
                } catch {
                    Issue.record("\(error)")
                }
                phase.withLock { $0 = 1 }
                return false
            case 1:
                // The commit timed out after its offsets were sent; it is being resumed.
                guard resumed() > 0 else { return false }
                committedAtResume.withLock { $0 = committed }
                phase.withLock { $0 = 2 }
                return false
            case 2:
                // The resumed commit completes; then more records, in transactions of their own.
                guard committed > committedAtResume.withLock({ $0 }), handled >= scenario.history + scenario.backlog else {
                    return false
                }
                do {
                    try scenario.produce((scenario.history + scenario.backlog)..<total, with: producer)
                } catch {
                    Issue.record("\(error)")
                }
                phase.withLock { $0 = 3 }
                return false
            default:
                return handled >= total && committed >= committedAtResume.withLock({ $0 }) + 2
            }
        }
        let offsets = handler.state.withLock { $0.handledOffsets }
        let transactional = scenario.logs.entries.withLock { $0 }.filter { $0.message.contains("transaction") }
        for entry in transactional.prefix(12) { print("log: \(entry.message) \(entry.metadata)") }
        print("transaction resume: \(resumed()) resumed call(s), \(observer.state.withLock { $0.commitsOK }) commits, \(offsets.count) records handled")
        #expect(resumed() > 0, "no transactional call timed out: the test did not test the resume")
        #expect(Set(offsets).count == offsets.count, "a record was handled twice in one assignment")
        #expect(Set(offsets) == Set((0..<Int64(total)).map { $0 }))
        let conflicts = scenario.logs.entries.withLock { $0.filter { $0.metadata["error"]?.contains("Conflicting") == true }.count }
        #expect(conflicts == 0, "\(conflicts) transactional calls conflicted with a pending one")
    }
}

/// A transaction must abort (its offsets are refused), and its abort outlasts the 10 s bound (the coordinator keeps answering
/// EndTxn "concurrent transactions"): the abort is resumed instead of stopping the processor, and the aborted
/// transaction's records are read again from where it began — the mock keeps no transactional offset commits, so
/// the committed-offset look-up finds none, which used to rewind to the log's beginning and replay every record.
@Suite(.serialized) struct TransactionAbortResumeTests {
    @Test func anAbortThatTimesOutIsResumedAndRewindsToTheTransactionsStart() throws {
        let cluster = try MockCluster(brokers: 1)
        var scenario = try RebuildScenario(cluster: cluster, inputPartitions: 1, outputPartitions: 1, history: 40)
        scenario.backlog = 40
        let group = "txn-abort-resume"
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        try scenario.produce(0..<scenario.history, with: producer)

        let handler = ReachingHandler()
        let observer = RebuildObserver()
        let phase = Mutex(0)
        let total = scenario.history + scenario.backlog
        func logged(_ message: String) -> Int {
            scenario.logs.entries.withLock { $0.filter { $0.message == message }.count }
        }
        try scenario.runProcessor(group: group, maxRecords: 0, handler: handler, observer: observer, timeoutSeconds: 150, configure: {
            $0.guarantee = .exactlyOnce(ExactlyOnceOptions(transactionalId: "txn-abort-resume-1"))
        }) {
            let handled = Set(handler.state.withLock { $0.handledOffsets })
            let committed = observer.state.withLock { $0.commitsOK }
            switch phase.withLock({ $0 }) {
            case 0:
                guard handled.count >= scenario.history, committed > 0 else { return false }
                // The next transaction's offsets are refused (TxnOffsetCommit ILLEGAL_GENERATION: librdkafka asks
                // for an abort), and EndTxn answers CONCURRENT_TRANSACTIONS 130 times: librdkafka retries every
                // 100 ms, ~13 s, past the abort call's 10 s bound.
                cluster.pushRequestErrors(apiKey: 28, errorCode: 22, count: 1)
                cluster.pushRequestErrors(apiKey: 26, errorCode: 51, count: 130)
                do {
                    try scenario.produce(scenario.history..<total, with: producer)
                } catch {
                    Issue.record("\(error)")
                }
                phase.withLock { $0 = 1 }
                return false
            default:
                return logged("transaction abort will be resumed") > 0 && handled.count >= total && committed >= 2
            }
        }
        let offsets = handler.state.withLock { $0.handledOffsets }
        var times: [Int64: Int] = [:]
        for offset in offsets { times[offset, default: 0] += 1 }
        let again = times.filter { $0.value > 1 }.keys.sorted()
        print("transaction abort: \(logged("transaction abort will be resumed")) resumed abort(s), \(offsets.count) handlings, handled again: \(again.first.map(String.init) ?? "-")…\(again.last.map(String.init) ?? "-") (\(again.count))")
        #expect(logged("transaction abort will be resumed") > 0, "no abort timed out: the test did not test the resume")
        #expect(logged("rewinding to the committed offsets after an aborted transaction") > 0)
        #expect(Set(offsets) == Set((0..<Int64(total)).map { $0 }))
        #expect(again.allSatisfy { $0 >= Int64(scenario.history) }, "records committed before the abort were replayed: \(again)")
    }
}

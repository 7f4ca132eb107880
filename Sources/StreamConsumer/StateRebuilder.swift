import Foundation
import Logging

/// Replays the records before a partition's resume point into the handler, a slice per loop pass, so the loop
/// keeps polling (group heartbeats, other partitions' records, delivery reports) while state is rebuilt.
///
/// One partition at a time, in the order they were asked for, through one group-less reader. Where the rebuild
/// starts is the ``RebuildPlan``'s decision: by time where the broker can look offsets up by time, else by
/// record count. A rebuild gives up after `timeoutSeconds`: processing then goes on with what was rebuilt.
final class StateRebuilder {
    struct Finished: Equatable {
        var partition: Int32
        var records: Int
        var seconds: Double
    }

    private struct Job {
        enum Phase {
            case starting
            /// Reading the record just before the resume point (its Kafka timestamp and event time).
            case probing(RebuildPlan)
            /// Replaying from `start`; `checked` once the first record's event time was compared.
            case replaying(RebuildPlan, start: Int64, checked: Bool, byTime: Bool)
        }

        var partition: Int32
        var end: Int64
        var phase = Phase.starting
        var lastEventTime: Double?
        var records = 0
        var startedNanos: UInt64 = 0
    }

    private let makeReader: () throws -> TopicReader
    private let maxRecords: Int
    private let timeoutSeconds: Double
    private let logger: Logger
    private var queue: [Job] = []
    private var reader: TopicReader?

    init(maxRecords: Int, timeoutSeconds: Double, logger: Logger, makeReader: @escaping () throws -> TopicReader) {
        self.maxRecords = maxRecords
        self.timeoutSeconds = timeoutSeconds
        self.logger = logger
        self.makeReader = makeReader
    }

    func enqueue(partition: Int32, end: Int64) {
        queue.removeAll { $0.partition == partition }
        queue.append(Job(partition: partition, end: end))
    }

    /// Forgets rebuilds of partitions that are no longer assigned.
    func cancel(partitions: Set<Int32>) {
        if let first = queue.first, partitions.contains(first.partition) { reader?.stopReplay() }
        queue.removeAll { partitions.contains($0.partition) }
    }

    func cancelAll() {
        reader?.stopReplay()
        queue.removeAll()
        reader = nil
    }

    /// Works on the first rebuild for about `sliceMs`. Returns `nil` when there is nothing to rebuild, `.some(nil)`
    /// while the rebuild goes on, and the finished rebuild when it ended.
    func step(handler: any RecordHandler, sliceMs: Int, isCancelled: () -> Bool) -> Finished?? {
        guard var job = queue.first else {
            reader = nil  // no rebuild pending: release the reader's connections
            return nil
        }
        if isCancelled() {
            logger.info("state rebuild cut short: stopping")
            cancelAll()
            return nil
        }
        let reader: TopicReader
        do {
            reader = try self.reader ?? makeReader()
            self.reader = reader
        } catch {
            logger.warning("cannot create the state rebuild reader; per-product state starts empty", metadata: ["error": "\(error)"])
            return .some(finish(job, from: nil, byTime: false))
        }
        do {
            let finished = try advance(&job, reader: reader, handler: handler, sliceMs: sliceMs)
            if let finished { return .some(finished) }
        } catch {
            logger.warning("state rebuild failed; continuing with partial state", metadata: [
                "partition": "\(job.partition)", "error": "\(error)",
            ])
            reader.stopReplay()
            return .some(finish(job, from: nil, byTime: false))
        }
        queue[0] = job
        if Double(Clock.monotonicNanos() &- job.startedNanos) / 1e9 >= timeoutSeconds {
            reader.stopReplay()
            logger.warning("state rebuild timed out; continuing with partial state", metadata: [
                "partition": "\(job.partition)", "read": "\(job.records)", "seconds": "\(timeoutSeconds)",
            ])
            return .some(finish(job, from: nil, byTime: false))
        }
        return .some(nil)
    }

    /// One step of `job`; returns the finished rebuild when it ended.
    private func advance(_ job: inout Job, reader: TopicReader, handler: any RecordHandler, sliceMs: Int) throws(KafkaError) -> Finished? {
        switch job.phase {
        case .starting:
            job.startedNanos = Clock.monotonicNanos()
            let low = (try? reader.watermarks(partition: job.partition, timeoutMs: 5_000).low) ?? 0
            let plan = RebuildPlan(end: job.end, low: low, maxRecords: maxRecords, reachSeconds: handler.stateReachSeconds)
            if plan.isEmpty { return finish(job, from: nil, byTime: false) }
            if plan.reachSeconds == nil {
                try reader.startReplay(partition: job.partition, from: plan.floor)
                job.phase = .replaying(plan, start: plan.floor, checked: true, byTime: false)
            } else {
                try reader.startReplay(partition: job.partition, from: job.end - 1)
                job.phase = .probing(plan)
            }
        case .probing(let plan):
            var lastTimestampMs: Int64?
            var lastEventTime: Double?
            let step = reader.replayStep(partition: job.partition, end: job.end, budgetMs: sliceMs) { record in
                lastTimestampMs = record.timestamp.map { Int64(($0 * 1000).rounded()) }
                lastEventTime = handler.eventTime(of: record)
            }
            guard step.finished || step.records > 0 else { return nil }
            job.lastEventTime = lastEventTime
            var start = plan.floor
            var byTime = false
            if let timestamp = lastTimestampMs.flatMap({ plan.lookUpTimestampMs(lastRecordTimestampMs: $0) }) {
                do {
                    let offset = try reader.offset(partition: job.partition, atOrAfterTimestampMs: timestamp, timeoutMs: 5_000)
                    start = plan.start(timeLookUp: offset)
                    byTime = offset != nil  // no answer (the 2.0.2 mock answers -1): the floor, by record count
                } catch {
                    // The broker cannot answer by time: reach back by record count.
                    logger.debug("no offset look-up by time; rebuilding by record count", metadata: ["error": "\(error)"])
                }
            }
            try reader.startReplay(partition: job.partition, from: start)
            job.phase = .replaying(plan, start: start, checked: !byTime, byTime: byTime)
        case .replaying(let plan, let start, let checked, let byTime):
            var checkedNow = checked
            var stepBackTo: Int64?
            var count = 0
            let lastEventTime = job.lastEventTime
            let step = reader.replayStep(partition: job.partition, end: job.end, budgetMs: sliceMs) { record in
                guard stepBackTo == nil else { return }
                if !checkedNow {
                    checkedNow = true
                    stepBackTo = plan.stepBack(from: start, firstEventTime: handler.eventTime(of: record), lastEventTime: lastEventTime)
                    if stepBackTo != nil { return }
                }
                handler.warmUp(record)
                count += 1
            }
            job.records += count
            if let stepBackTo {
                // Kafka timestamps and event times disagree: the first record is too new for the window.
                try reader.startReplay(partition: job.partition, from: stepBackTo)
                job.phase = .replaying(plan, start: stepBackTo, checked: false, byTime: byTime)
                return nil
            }
            job.phase = .replaying(plan, start: start, checked: checkedNow, byTime: byTime)
            if step.finished {
                reader.stopReplay()
                return finish(job, from: start, byTime: byTime)
            }
        }
        return nil
    }

    private func finish(_ job: Job, from start: Int64?, byTime: Bool) -> Finished {
        queue.removeFirst()
        let seconds = job.startedNanos == 0 ? 0 : Double(Clock.monotonicNanos() &- job.startedNanos) / 1e9
        if let start {
            logger.info("state rebuilt from the log", metadata: [
                "partition": "\(job.partition)", "offsets": "\(start)..<\(job.end)", "records": "\(job.records)",
                "seconds": "\(String(format: "%.3f", seconds))", "start_by": "\(byTime ? "time" : "record_count")",
            ])
        }
        return Finished(partition: job.partition, records: job.records, seconds: seconds)
    }
}

import Foundation
import Logging

/// Replays the records before each new partition's resume point into the handler, a slice per loop pass, so the
/// loop keeps polling (group heartbeats, other partitions' records, delivery reports) while state is rebuilt.
///
/// Every pending rebuild runs at once through one group-less reader (one fetch serves them all: after an eager
/// rebalance that moved dozens of partitions, they are rebuilt in parallel, not one after another). Where each
/// starts is the ``RebuildPlan``'s decision: by time where the broker can look offsets up by time, else by record
/// count. A rebuild gives up after `timeoutSeconds`: processing then goes on with what was rebuilt.
final class StateRebuilder {
    struct Finished: Equatable {
        var partition: Int32
        var records: Int
        var seconds: Double
    }

    private struct Job {
        enum Phase: Equatable {
            /// Reading the record just before the resume point (its Kafka timestamp and event time).
            case probing
            /// Replaying from `start`; `checked` once the first record's event time was compared.
            case replaying(start: Int64, checked: Bool, byTime: Bool)
        }

        var plan: RebuildPlan
        var phase: Phase
        /// The next offset the reader delivers for this partition.
        var next: Int64
        var lastTimestampMs: Int64?
        var lastEventTime: Double?
        var records = 0
        let startedNanos: UInt64
        /// The probe is done (or the first record asked to step back): the reader must move this partition.
        var moved = false
    }

    private let makeReader: () throws -> TopicReader
    private let maxRecords: Int
    private let timeoutSeconds: Double
    private let logger: Logger
    private var jobs: [Int32: Job] = [:]
    private var reader: TopicReader?
    /// The reader's assignment is out of date (jobs added, moved or finished).
    private var reassign = false
    /// The broker answered a time look-up with nothing (librdkafka's mock): later rebuilds skip the probe.
    private var timeLookUpUnavailable = false

    init(maxRecords: Int, timeoutSeconds: Double, logger: Logger, makeReader: @escaping () throws -> TopicReader) {
        self.maxRecords = maxRecords
        self.timeoutSeconds = timeoutSeconds
        self.logger = logger
        self.makeReader = makeReader
    }

    /// Starts rebuilding `partition` up to `end`; returns the rebuild at once when there is nothing to replay.
    func enqueue(partition: Int32, end: Int64, reachSeconds: Double?) -> Finished? {
        let plan = RebuildPlan(end: end, low: 0, maxRecords: maxRecords, reachSeconds: reachSeconds)
        guard !plan.isEmpty else { return Finished(partition: partition, records: 0, seconds: 0) }
        let probe = reachSeconds != nil && !timeLookUpUnavailable
        jobs[partition] = Job(
            plan: plan,
            phase: probe ? .probing : .replaying(start: plan.floor, checked: true, byTime: false),
            next: probe ? end - 1 : plan.floor,
            startedNanos: Clock.monotonicNanos()
        )
        reassign = true
        return nil
    }

    /// Whether a rebuild is pending (``step(handler:sliceMs:isCancelled:)`` will use the handler).
    var hasWork: Bool { !jobs.isEmpty }

    /// Forgets rebuilds of partitions that are no longer assigned.
    func cancel(partitions: Set<Int32>) {
        for partition in partitions where jobs.removeValue(forKey: partition) != nil { reassign = true }
    }

    func cancelAll() {
        jobs.removeAll()
        reader?.stopReplay()
        reader = nil
    }

    /// Works on every pending rebuild for about `sliceMs`. Returns `nil` when there is nothing to rebuild, else
    /// the rebuilds that ended in this step (often none).
    func step(handler: any RecordHandler, sliceMs: Int, isCancelled: () -> Bool) -> [Finished]? {
        guard !jobs.isEmpty else {
            reader = nil  // no rebuild pending: release the reader's connections
            return nil
        }
        if isCancelled() {
            logger.info("state rebuild cut short: stopping")
            cancelAll()
            return nil
        }
        var finished: [Finished] = []
        let reader: TopicReader
        do {
            reader = try self.reader ?? makeReader()
            self.reader = reader
            if reassign {
                try reader.assign(jobs.map { PartitionOffset(partition: $0.key, offset: $0.value.next) }.sorted { $0.partition < $1.partition })
                reassign = false
            }
        } catch {
            logger.warning("state rebuild failed; continuing with partial state", metadata: ["error": "\(error)"])
            for partition in jobs.keys.sorted() { finished.append(finish(partition, complete: false)) }
            return finished
        }
        _ = reader.forEachArriving(budgetMs: sliceMs) { arrival in
            switch arrival {
            case .record(let record):
                accept(record, handler: handler, finished: &finished)
            case .end(let partition):
                // An end reached from a position the partition is about to leave (a step back) says nothing.
                guard let job = jobs[partition], !job.moved else { return true }
                if job.phase == .probing {
                    jobs[partition]?.moved = true  // nothing before the end to probe: by record count
                } else {
                    finished.append(finish(partition, complete: true))
                }
            }
            return true
        }
        moveProbedAndSteppedBack(reader: reader)
        let now = Clock.monotonicNanos()
        for (partition, job) in jobs where Double(now &- job.startedNanos) / 1e9 >= timeoutSeconds {
            logger.warning("state rebuild timed out; continuing with partial state", metadata: [
                "partition": "\(partition)", "read": "\(job.records)", "seconds": "\(timeoutSeconds)",
            ])
            finished.append(finish(partition, complete: false))
        }
        return finished
    }

    private func accept(_ record: ConsumedRecord, handler: any RecordHandler, finished: inout [Finished]) {
        guard var job = jobs[record.partition], !job.moved, record.offset >= job.next else { return }
        job.next = record.offset + 1
        switch job.phase {
        case .probing:
            job.lastTimestampMs = record.timestamp.map { Int64(($0 * 1000).rounded()) }
            job.lastEventTime = handler.eventTime(of: record)
            job.moved = true
            jobs[record.partition] = job
            return
        case .replaying(let start, let checked, let byTime):
            guard record.offset < job.plan.end else {
                jobs[record.partition] = job
                finished.append(finish(record.partition, complete: true))
                return
            }
            if !checked {
                job.phase = .replaying(start: start, checked: true, byTime: byTime)
                if let back = job.plan.stepBack(from: start, firstEventTime: handler.eventTime(of: record), lastEventTime: job.lastEventTime) {
                    // Kafka timestamps and event times disagree: the first record is too new for the window.
                    job.phase = .replaying(start: back, checked: false, byTime: byTime)
                    job.next = back
                    job.moved = true
                    jobs[record.partition] = job
                    return
                }
            }
            handler.warmUp(record)
            job.records += 1
            jobs[record.partition] = job
            if record.offset >= job.plan.end - 1 { finished.append(finish(record.partition, complete: true)) }
        }
    }

    /// Probed partitions start their replay (by time where the broker answers, else by count); stepped-back
    /// ones start again earlier. One new assignment moves them all.
    private func moveProbedAndSteppedBack(reader: TopicReader) {
        for (partition, job) in jobs where job.moved {
            var job = job
            job.moved = false
            if job.phase == .probing {
                var start = job.plan.floor
                var byTime = false
                if !timeLookUpUnavailable, let target = job.lastTimestampMs.flatMap({ job.plan.lookUpTimestampMs(lastRecordTimestampMs: $0) }) {
                    do {
                        let offset = try reader.offset(partition: partition, atOrAfterTimestampMs: target, timeoutMs: 5_000)
                        // No record at or after a time before the last record's: the broker cannot look up by time.
                        if offset == nil { timeLookUpUnavailable = true }
                        start = job.plan.start(timeLookUp: offset)
                        byTime = offset != nil
                    } catch {
                        timeLookUpUnavailable = true
                        logger.debug("no offset look-up by time; rebuilding by record count", metadata: ["error": "\(error)"])
                    }
                }
                job.phase = .replaying(start: start, checked: !byTime, byTime: byTime)
                job.next = start
            }
            jobs[partition] = job
            reassign = true
        }
    }

    /// The watermarks the replay's reader has seen for the partitions it is rebuilding (from its own fetches): the
    /// processing consumer has fetched nothing from a partition paused for its rebuild, so without these its lag
    /// would be unknown until the rebuild ends.
    func cachedWatermarks() -> [Int32: PositionBoard.Watermarks] {
        guard let reader else { return [:] }
        var watermarks: [Int32: PositionBoard.Watermarks] = [:]
        for partition in jobs.keys {
            if let seen = reader.cachedWatermarks(partition: partition) {
                watermarks[partition] = PositionBoard.Watermarks(low: seen.low, high: seen.high)
            }
        }
        return watermarks
    }

    private func finish(_ partition: Int32, complete: Bool) -> Finished {
        guard let job = jobs.removeValue(forKey: partition) else { return Finished(partition: partition, records: 0, seconds: 0) }
        reassign = true
        let seconds = Double(Clock.monotonicNanos() &- job.startedNanos) / 1e9
        if case .replaying(let start, _, let byTime) = job.phase {
            logger.info("state rebuilt from the log", metadata: [
                "partition": "\(partition)", "offsets": "\(start)..<\(job.plan.end)", "records": "\(job.records)",
                "seconds": "\(String(format: "%.3f", seconds))", "start_by": "\(byTime ? "time" : "record_count")",
            ])
        }
        return Finished(partition: partition, records: job.records, seconds: seconds)
    }
}

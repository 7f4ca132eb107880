import Foundation
import Logging

/// Replays the records before a partition's resume point into the handler, a slice per loop pass, so the loop
/// keeps polling (group heartbeats, other partitions' records, delivery reports) while state is rebuilt.
///
/// One partition at a time, in the order they were asked for, through one group-less reader. A rebuild reaches
/// back `maxRecords` records (0 turns rebuilding off) and gives up after `timeoutSeconds`: processing then goes
/// on with what was rebuilt.
final class StateRebuilder {
    struct Finished: Equatable {
        var partition: Int32
        var records: Int
        var seconds: Double
    }

    private struct Job {
        var partition: Int32
        var end: Int64
        var start: Int64?
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

    var isIdle: Bool { queue.isEmpty }

    func enqueue(partition: Int32, end: Int64) {
        queue.removeAll { $0.partition == partition }
        queue.append(Job(partition: partition, end: end))
    }

    /// Forgets rebuilds of partitions that are no longer assigned.
    func cancel(partitions: Set<Int32>) {
        if let first = queue.first, partitions.contains(first.partition), first.start != nil { reader?.stopReplay() }
        queue.removeAll { partitions.contains($0.partition) }
    }

    func cancelAll() {
        if queue.first?.start != nil { reader?.stopReplay() }
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
            return .some(finish(job, records: 0))
        }
        if job.start == nil {
            job.startedNanos = Clock.monotonicNanos()
            let low = (try? reader.watermarks(partition: job.partition, timeoutMs: 5_000).low) ?? 0
            let start = max(low, job.end - Int64(maxRecords))
            guard maxRecords > 0, start < job.end else { return .some(finish(job, records: 0)) }
            do {
                try reader.startReplay(partition: job.partition, from: start)
            } catch {
                logger.warning("state rebuild failed; continuing with partial state", metadata: [
                    "partition": "\(job.partition)", "error": "\(error)",
                ])
                return .some(finish(job, records: 0))
            }
            job.start = start
        }
        let step = reader.replayStep(partition: job.partition, end: job.end, budgetMs: sliceMs) { handler.warmUp($0) }
        job.records += step.records
        queue[0] = job
        let elapsed = Double(Clock.monotonicNanos() &- job.startedNanos) / 1e9
        if step.finished || elapsed >= timeoutSeconds {
            reader.stopReplay()
            if !step.finished {
                logger.warning("state rebuild timed out; continuing with partial state", metadata: [
                    "partition": "\(job.partition)", "read": "\(job.records)", "seconds": "\(timeoutSeconds)",
                ])
            }
            return .some(finish(job, records: job.records))
        }
        return .some(nil)
    }

    private func finish(_ job: Job, records: Int) -> Finished {
        queue.removeFirst()
        let seconds = job.startedNanos == 0 ? 0 : Double(Clock.monotonicNanos() &- job.startedNanos) / 1e9
        if records > 0 || job.start != nil {
            logger.info("state rebuilt from the log", metadata: [
                "partition": "\(job.partition)", "offsets": "\(job.start ?? job.end)..<\(job.end)", "records": "\(records)",
                "seconds": "\(String(format: "%.3f", seconds))",
            ])
        }
        return Finished(partition: job.partition, records: records, seconds: seconds)
    }
}

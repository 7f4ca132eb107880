import Foundation
import Logging
import StreamConsumer

/// How fast a tick file is replayed.
enum ReplayPacing: Sendable, Equatable {
    /// As fast as the producer takes them.
    case unlimited
    /// At the recorded pace times `speedup`, with gaps longer than `maxGap` seconds shortened to 1 s.
    case recorded(speedup: Double, maxGap: Double?)
    /// A fixed number of records per second.
    case rate(Double)
}

/// Produces a ``TickFile`` to Kafka, keyed by product id, optionally looping, with event times shifted to the
/// moment each record is sent (so a replay looks like live data) unless they are kept.
struct TickReplayer: Sendable {
    var file: TickFile
    var topic: String
    var pacing: ReplayPacing
    var loop: Bool
    var keepTimestamps: Bool
    /// Stop after this many records (nil: the whole file, or forever when looping).
    var limit: Int?
    /// When set, records are spread round-robin over this many product ids (`<id>-<n>`), so a replay covers many
    /// keys (and partitions); each product still sees real ticks in recorded order (every n-th one).
    var products: Int? = nil

    /// Records the run will send, when that is known (not when looping without a limit).
    var expectedCount: Int? {
        loop ? limit : min(limit ?? .max, file.lines.count)
    }

    /// Runs until the file is done (or `limit` is reached, or the task is cancelled); returns records sent.
    func run(producer: KafkaProducer, logger: Logger, progress: ProgressMeter? = nil) async throws -> Int {
        let offsets: [Double]
        switch pacing {
        case .recorded(_, let maxGap): offsets = file.schedule(maxGap: maxGap)
        default: offsets = []
        }
        var sent = 0
        var loopStart = Clock.monotonicNanos()
        repeat {
            for (index, line) in file.lines.enumerated() {
                if let limit, sent >= limit { return sent }
                try Task.checkCancellation()
                let dueNanos: UInt64? = switch pacing {
                case .unlimited: nil
                case .recorded(let speedup, _): loopStart + UInt64(offsets[index] / speedup * 1e9)
                case .rate(let perSecond): loopStart + UInt64(Double(index) / perSecond * 1e9)
                }
                if let dueNanos {
                    let now = Clock.monotonicNanos()
                    if dueNanos > now + 1_000_000 {
                        producer.poll(timeoutMs: 0)
                        try await Task.sleep(nanoseconds: dueNanos - now)
                    }
                }
                let productId = products.map { "\(line.productId ?? "product")-\(sent % $0)" }
                let bytes = file.bytes(of: line, eventTime: keepTimestamps ? nil : Clock.wallSeconds(), productId: productId)
                try producer.send(topic: topic, key: productId ?? line.productId, value: bytes)
                sent += 1
                progress?.advance()
                if sent % 1024 == 0 { producer.poll(timeoutMs: 0) }
            }
            if loop {
                logger.debug("tick file replayed; starting over", metadata: ["sent": "\(sent)"])
            }
            loopStart = Clock.monotonicNanos()
        } while loop
        return sent
    }
}

import FeaturePipeline
import Logging
import ServiceLifecycle
import StreamConsumer

/// The embedded default's input: the bundled real Coinbase ticks, looped, at their recorded pace (times
/// `DEMO_SPEEDUP`), with event times that keep the recording's features (see ``DemoTimeline``): sessions keep
/// their internal timing, gaps between them stay longer than max(60 s, H) in event time while the wall-clock
/// wait is 1 s, and no tick is ever sent before its event time.
final class DemoTickSource: Service, Sendable {
    private let file: TickFile
    private let topic: String
    private let speedup: Double
    private let timeline: DemoTimeline
    private let bootstrapServers: String
    private let logger: Logger

    init(
        file: TickFile, topic: String, speedup: Double, bootstrapServers: String, logger: Logger,
        labelHorizonSeconds: Double = LabelSettings.defaultHorizonSeconds
    ) {
        self.file = file
        self.topic = topic
        self.speedup = speedup
        self.timeline = DemoTimeline(file: file, labelHorizonSeconds: labelHorizonSeconds)
        self.bootstrapServers = bootstrapServers
        self.logger = logger
    }

    func run() async throws {
        let producer = try KafkaProducer(bootstrapServers: bootstrapServers)
        logger.info("demo tick source started", metadata: [
            "records": "\(file.lines.count)", "topic": "\(topic)", "sessions": "\(timeline.sessionStarts.count)",
            "session_gap_seconds": "\(timeline.sessionGap)",
        ])
        do {
            try await cancelWhenGracefulShutdown {
                try await self.replay(producer: producer)
            }
        } catch is CancellationError {
            // graceful shutdown
        }
        producer.flush(timeoutMs: 2000)
    }

    private func replay(producer: KafkaProducer) async throws {
        let start = Clock.wallSeconds()
        var pass = 0
        while true {
            let passStart = Clock.monotonicNanos()
            for (index, line) in file.lines.enumerated() {
                try Task.checkCancellation()
                let shift = timeline.shift(line: index, pass: pass, start: start)
                // Recorded pace (long gaps shortened to 1 s of wall time) …
                let due = passStart + UInt64(timeline.wallOffsets[index] / speedup * 1e9)
                var wait = Int64(bitPattern: due &- Clock.monotonicNanos())
                // … but never before the tick's event time.
                let ahead = (line.eventTime + Double(shift) - Clock.wallSeconds()) * 1e9
                if ahead > Double(wait) { wait = Int64(ahead.rounded(.up)) }
                if wait > 1_000_000 {
                    producer.poll(timeoutMs: 0)
                    try await Task.sleep(nanoseconds: UInt64(wait))
                }
                try producer.send(topic: topic, key: line.productId, value: file.bytes(of: line, shiftedBySeconds: shift))
                if index % 1024 == 0 { producer.poll(timeoutMs: 0) }
            }
            logger.debug("tick file replayed; starting over", metadata: ["pass": "\(pass)"])
            pass += 1
        }
    }
}

import Logging
import ServiceLifecycle
import StreamConsumer

/// The embedded default's input: the bundled real Coinbase ticks, looped, at their recorded pace, with event
/// times shifted to now and long gaps shortened, so predictions flow as soon as the daemon starts.
final class DemoTickSource: Service, Sendable {
    private let replayer: TickReplayer
    private let bootstrapServers: String
    private let logger: Logger

    init(file: TickFile, topic: String, speedup: Double, bootstrapServers: String, logger: Logger) {
        self.replayer = TickReplayer(
            file: file, topic: topic, pacing: .recorded(speedup: speedup, maxGap: 5), loop: true,
            keepTimestamps: false, limit: nil
        )
        self.bootstrapServers = bootstrapServers
        self.logger = logger
    }

    func run() async throws {
        let producer = try KafkaProducer(bootstrapServers: bootstrapServers)
        logger.info("demo tick source started", metadata: ["records": "\(replayer.file.lines.count)", "topic": "\(replayer.topic)"])
        do {
            try await cancelWhenGracefulShutdown {
                _ = try await self.replayer.run(producer: producer, logger: self.logger)
            }
        } catch is CancellationError {
            // graceful shutdown
        }
        producer.flush(timeoutMs: 2000)
    }
}

import ArgumentParser
import Foundation
import Logging
import StreamConsumer

/// `consumerd replay FILE`: produces an NDJSON tick file to any broker.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Produce an NDJSON tick file to Kafka (key = product id).",
        discussion: """
            Without --rate or --speedup records are sent as fast as the producer takes them. Event timestamps are \
            shifted to the moment each record is sent unless --keep-timestamps is given.
            """
    )

    @Argument(help: "NDJSON file of ticks (any of the three input shapes).")
    var file: String

    @Option(help: "Records per second.")
    var rate: Double?

    @Option(help: "Replay at the recorded pace times this factor.")
    var speedup: Double?

    @Option(help: "With --speedup: gaps longer than this many seconds become 1 s.")
    var maxGap: Double?

    @Flag(help: "Start over at the end of the file until interrupted.")
    var loop = false

    @Flag(help: "Send the recorded event timestamps unchanged.")
    var keepTimestamps = false

    @Option(help: "Stop after this many records.")
    var count: Int?

    @Option(help: "Spread records round-robin over N product ids (<id>-<k>), e.g. to fill many partitions.")
    var products: Int?

    @Option(help: "Broker list (default: KAFKA_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?

    @Option(help: "Topic (default: INPUT_TOPIC or ticks.features).")
    var topic: String?

    func validate() throws {
        if rate != nil && speedup != nil { throw ValidationError("use either --rate or --speedup, not both") }
        if let rate, !(rate > 0) { throw ValidationError("--rate must be positive") }
        if let speedup, !(speedup > 0) { throw ValidationError("--speedup must be positive") }
        if let products, products < 1 { throw ValidationError("--products must be at least 1") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var handler = StreamLogHandler.standardError(label: "consumerd.replay")
        handler.logLevel = .info
        let logger = Logger(label: "consumerd.replay") { _ in handler }
        guard let servers = bootstrapServers ?? EnvironmentReader(environment).string("KAFKA_BOOTSTRAP_SERVERS") else {
            throw exitForStartupFailure("KAFKA_BOOTSTRAP_SERVERS: set it or pass --bootstrap-servers")
        }
        let topicName: String
        let ticks: TickFile
        let producer: KafkaProducer
        do {
            topicName = try topic ?? EnvironmentReader(environment).topic("INPUT_TOPIC", default: "ticks.features")
            ticks = try TickFile.load(path: file)
            let settings = try KafkaSettings.fromEnvironment(environment)
            producer = try KafkaProducer(
                bootstrapServers: servers, properties: settings.commonProperties + settings.producerProperties
            )
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        let pacing: ReplayPacing =
            if let rate { .rate(rate) } else if let speedup { .recorded(speedup: speedup, maxGap: maxGap) } else { .unlimited }
        let replayer = TickReplayer(
            file: ticks, topic: topicName, pacing: pacing, loop: loop, keepTimestamps: keepTimestamps, limit: count,
            products: products
        )
        // On a terminal a live line (records, rate, ETA); otherwise the one summary line below.
        let progress = ProgressMeter(label: "replay", total: replayer.expectedCount.map(Int64.init))
        progress.phase = "sending to \(topicName)"
        let sent = try await replayer.run(producer: producer, logger: logger, progress: progress)
        let remaining = producer.flush(timeoutMs: 30_000)
        let seconds = progress.elapsedSeconds
        progress.finish(
            "sent \(sent), delivered \(producer.deliveredCount), failed \(producer.failedCount) to \(topicName) in "
                + "\(String(format: "%.2f", seconds)) s (\(ProgressMeter.grouped(Int64(Double(sent) / max(seconds, 1e-9)))) records/s)"
        )
        printLine("SENT=\(sent) DELIVERED=\(producer.deliveredCount) FAILED=\(producer.failedCount)")
        if remaining > 0 || producer.failedCount > 0 { throw ExitCode(1) }
    }
}

import ConsumerMetrics
import Logging
import StreamConsumer

/// Turns the stream engine's events into metrics, health signals and logs.
final class MetricsObserver: StreamObserver {
    private let metrics: ConsumerMetrics
    private let health: HealthState
    private let logger: Logger
    private let kafkaLogger: Logger

    init(metrics: ConsumerMetrics, health: HealthState, logger: Logger) {
        self.metrics = metrics
        self.health = health
        self.logger = logger
        var kafkaLogger = logger
        kafkaLogger[metadataKey: "source"] = "librdkafka"
        self.kafkaLogger = kafkaLogger
    }

    func heartbeat() {
        health.markProgress()
    }

    func delivered(_ delivery: Delivery) {
        metrics.recordStage(.produceAck, seconds: delivery.produceToAckSeconds)
        switch delivery.kind {
        case .prediction(let label, let probability, let model):
            let endToEnd = delivery.sourceTimestamp.map { Clock.wallSeconds() - $0 }
            metrics.recordPredictionDelivered(
                prediction: Int(label), probability: probability, endToEndSeconds: endToEnd,
                variant: PredictionHandler.Encoders.variant(ofTag: model)
            )
        case .deadLetter(let errorType):
            if let type = ErrorType(rawValue: errorType) { metrics.recordDeadLetterDelivered(type) }
        case .extra:
            break  // shadow predictions and outcomes are counted when they are made
        }
    }

    func deliveryFailed(kind: OutputKind, error: String) {
        metrics.recordError(.produceError)
        logger.warning("delivery failed; the output will be produced again", metadata: [
            "output": "\(kind.label)", "error": "\(error)",
        ])
    }

    func rebalanced(_ event: RebalanceEvent, assignedPartitions: Int) {
        switch event {
        case .assign: metrics.recordRebalance(.assign)
        case .revoke: metrics.recordRebalance(.revoke)
        case .lost: metrics.recordRebalance(.lost)
        }
        metrics.setAssignedPartitions(assignedPartitions)
        health.setAssignedPartitions(assignedPartitions)
    }

    func offsetsCommitted(success: Bool, error: String?) {
        metrics.recordOffsetCommit(success: success)
        if !success {
            metrics.recordError(.commitError)
            logger.warning("offset commit failed", metadata: ["error": "\(error ?? "unknown")"])
        }
    }

    func kafkaError(_ message: String, fatal: Bool) {
        metrics.recordError(.kafkaError)
        if fatal {
            logger.critical("Kafka client error", metadata: ["error": "\(message)"])
        } else {
            logger.warning("Kafka client error", metadata: ["error": "\(message)"])
        }
    }

    func brokerReachability(_ reachable: Bool) {
        health.setBrokerReachable(reachable)
        if reachable {
            logger.info("brokers reachable")
        } else {
            logger.warning("all brokers are down; librdkafka keeps reconnecting")
        }
    }

    func consumerStatistics(_ json: String) {
        metrics.applyConsumerStatistics(json: json)
    }

    func producerStatistics(_ json: String) {
        metrics.applyProducerStatistics(json: json)
    }

    func caughtUp(_ summary: CatchUp) {
        metrics.markCaughtUp()
    }

    func inflightChanged(_ count: Int) {
        metrics.setInflight(count)
    }

    func backPressure(_ paused: Bool) {}

    func stateRebuilt(partition: Int32, records: Int, seconds: Double) {
        metrics.recordStateRebuild(records: records, seconds: seconds)
    }

    func fetchRestarted(partitions: Int) {
        metrics.recordFetchRestarts(partitions)
    }

    func kafkaLog(level: Int32, facility: String, message: String) {
        // syslog levels: 0 emerg … 3 err, 4 warning, 5 notice, 6 info, 7 debug.
        let mapped: Logger.Level = switch level {
        case ...3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
        kafkaLogger.log(level: mapped, "\(message)", metadata: ["facility": "\(facility)"])
    }
}

extension OutputKind {
    /// How logs name an output of this kind.
    var label: String {
        switch self {
        case .prediction: "prediction"
        case .deadLetter: "dead_letter"
        case .extra(let topic): "extra_\(topic.index)"
        }
    }
}

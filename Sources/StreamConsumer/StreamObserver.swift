/// Rebalance events, as counted by the metrics.
public enum RebalanceEvent: String, Sendable, CaseIterable {
    case assign
    case revoke
    case lost
}

/// A confirmed delivery of one output record.
public struct Delivery: Sendable {
    public var kind: OutputKind
    /// The input's Kafka record timestamp (epoch seconds), for end-to-end latency.
    public var sourceTimestamp: Double?
    /// Seconds from handing the record to the producer to its delivery report.
    public var produceToAckSeconds: Double
}

/// What the stream engine reports as it runs; the daemon turns it into metrics, health and logs.
///
/// All calls arrive on the processing thread except ``kafkaLog(level:facility:message:)``, which librdkafka may
/// call from its own threads.
public protocol StreamObserver: AnyObject, Sendable {
    /// Called every loop iteration, busy or idle: proof of liveness.
    func heartbeat()
    func delivered(_ delivery: Delivery)
    /// A delivery failed; the record will be produced again after a back-off.
    func deliveryFailed(kind: OutputKind, error: String)
    func rebalanced(_ event: RebalanceEvent, assignedPartitions: Int)
    func offsetsCommitted(success: Bool, error: String?)
    /// A librdkafka error event (most are transient and retried by librdkafka itself).
    func kafkaError(_ message: String, fatal: Bool)
    /// Whether the brokers were reachable at the last signal (an error event or a successful fetch).
    func brokerReachability(_ reachable: Bool)
    func consumerStatistics(_ json: String)
    func producerStatistics(_ json: String)
    /// Every assigned partition is at its high watermark and nothing is in flight; `summary` covers the
    /// records handled since the previous call.
    func caughtUp(_ summary: CatchUp)
    /// Inputs handed to the producer and not yet acknowledged (reported once per loop pass when it changed).
    func inflightChanged(_ count: Int)
    /// Fetching was paused (`true`) or resumed (`false`) for back-pressure.
    func backPressure(_ paused: Bool)
    func kafkaLog(level: Int32, facility: String, message: String)
    /// A partition's state was rebuilt from the log after an assignment: `records` replayed in `seconds`.
    func stateRebuilt(partition: Int32, records: Int, seconds: Double)
    /// The fetch watch restarted `partitions`: each should have been delivering and delivered nothing — no record,
    /// no end-of-partition — for the watch's window.
    func fetchRestarted(partitions: Int)
}

extension StreamObserver {
    /// The fetch watch restarted `partitions` (see the requirement).
    public func fetchRestarted(partitions: Int) {}

    /// A partition's state was rebuilt from the log after an assignment: `records` replayed in `seconds`.
    public func stateRebuilt(partition: Int32, records: Int, seconds: Double) {}
}

/// The topics one processor reads and writes.
public struct StreamTopics: Sendable, Equatable {
    public var input: String
    public var output: String
    public var deadLetter: String
    /// Further output topics (shadow predictions, realised outcomes), addressed by ``ExtraTopic`` index.
    public var extra: [String]

    public init(
        input: String = "ticks.features", output: String = "ticks.predictions", deadLetter: String = "ticks.features.dlq",
        extra: [String] = []
    ) {
        self.input = input
        self.output = output
        self.deadLetter = deadLetter
        self.extra = extra
    }
}

/// Tunables of the consume → handle → produce loop.
public struct StreamProcessorOptions: Sendable {
    public var topics: StreamTopics
    /// Outputs handed to the producer and not yet acknowledged before fetching is paused (bounded memory).
    public var maxInflight: Int
    /// ``maxInflight``'s default (`MAX_INFLIGHT`).
    public static let defaultMaxInflight = 200_000
    /// How long shutdown waits for outstanding deliveries before closing.
    public var shutdownFlushTimeoutMs: Int32
    /// First and largest back-off between attempts to re-produce an output whose delivery failed.
    public var retryBackoffNanos: (initial: UInt64, maximum: UInt64)
    /// How many records before a partition's committed offset are replayed into the handler's state after an
    /// assignment (0 turns the rebuild off).
    public var stateRebuildMaxRecords: Int
    /// Longest time one partition's rebuild may take before processing goes on without the rest of it.
    public var stateRebuildTimeoutSeconds: Double
    /// How long shutdown waits for the consumer to leave its group before exiting without a clean group exit.
    public var consumerCloseTimeoutSeconds: Double = 10
    /// At-least-once (offsets stored after delivery) or exactly-once (Kafka transactions).
    public var guarantee: ProcessingGuarantee
    /// Whether the handler runs on a thread of its own, deciding the next batch of records while the processing
    /// thread produces the last one's outputs (at-least-once only; exactly-once always handles on the processing
    /// thread). The handler is still called by one thread at a time.
    public var handlerThread: Bool = true
    /// How long a partition that should be delivering — assigned, active, not paused, not at its end — may
    /// deliver nothing (no record, no end-of-partition) before its fetching is restarted (`FETCH_STALL_SECONDS`;
    /// 0 turns the watch off). librdkafka answers a fetch within `fetch.wait.max.ms`, so silence this long means
    /// fetching stopped behind the engine's back.
    public var fetchStallSeconds: Double = 30
    /// Test-only fault injection (`CONSUMERD_FAULT_PAUSE_PARTITION`); `nil` in production.
    public var fetchFault: FetchFault?

    /// ``fetchStallSeconds`` for the engine (0: off).
    var fetchStallNanos: UInt64 {
        fetchStallSeconds > 0 ? UInt64(fetchStallSeconds * 1e9) : 0
    }

    /// The longest a graceful stop takes after SIGTERM: the output flush (while the log-end probe's look-up in
    /// progress, if any, ends), then the final commit and the group exit (each bounded), plus one second for the
    /// loop to notice the request. Service managers must allow more (systemd `TimeoutStopSec`, Kubernetes
    /// `terminationGracePeriodSeconds`): the one place this budget is set.
    public var shutdownBudgetSeconds: Double {
        Double(max(shutdownFlushTimeoutMs, LogEndQuery.callTimeoutMs)) / 1000 + consumerCloseTimeoutSeconds + 1
    }

    public init(
        topics: StreamTopics = StreamTopics(),
        maxInflight: Int = StreamProcessorOptions.defaultMaxInflight,
        shutdownFlushTimeoutMs: Int32 = 6000,
        retryBackoffNanos: (initial: UInt64, maximum: UInt64) = (500_000_000, 30_000_000_000),
        stateRebuildMaxRecords: Int = 100_000,
        stateRebuildTimeoutSeconds: Double = 60,
        guarantee: ProcessingGuarantee = .atLeastOnce
    ) {
        self.guarantee = guarantee
        self.topics = topics
        self.maxInflight = maxInflight
        self.shutdownFlushTimeoutMs = shutdownFlushTimeoutMs
        self.retryBackoffNanos = retryBackoffNanos
        self.stateRebuildMaxRecords = stateRebuildMaxRecords
        self.stateRebuildTimeoutSeconds = stateRebuildTimeoutSeconds
    }
}


/// A fault the fetch watch must repair, injected for its tests.
public enum FetchFault: Sendable, Equatable {
    /// Once this partition has handled a record and reached its end, librdkafka pauses it without the engine
    /// knowing — once.
    case pauseBehindEngine(partition: Int32)
    /// Once this partition has handled a record and reached its end, librdkafka stops its fetcher without the
    /// engine knowing — once — as a fetch start dropped by librdkafka 2.0.2 leaves a newly assigned partition
    /// (its issue #2190): a seek then fails with `Local: Erroneous state` and a resume does nothing. Unassigned
    /// behind the engine's back until a seek says so (cooperative: that partition; eager: the whole assignment,
    /// so only for a consumer that holds this partition alone). Unlike the real defect the partition is then not
    /// in librdkafka's assignment (a fetch start cannot be made to drop on demand: one is served within a
    /// second), so the repair's unassign of it does nothing and its assign starts a fetcher.
    case stopFetcherBehindEngine(partition: Int32)

    /// The partition the fault affects.
    var partition: Int32 {
        switch self {
        case .pauseBehindEngine(let partition), .stopFetcherBehindEngine(let partition): partition
        }
    }
}

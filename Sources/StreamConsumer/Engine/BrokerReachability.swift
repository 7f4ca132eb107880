/// Whether any broker is reachable, as the loop has evidence of it: for readiness (`/readyz`), the fetch watch
/// (silence does not count while every broker is down) and the log-end look-ups (every partition asked while they
/// are down). I/O-free: the driver reports evidence with the moment it handles it.
///
/// librdkafka raises "all brokers down" once per outage and nothing when they come back, so what says they are
/// back must be news from after the outage began. A record handled or an output acknowledged may have been
/// received before it and served after it (the backlog kept while fetching is paused; the producer's queue served
/// after the consumer's in a pass): after an outage only a log-end answer to a look-up that started after the
/// down event counts, or an assignment (the coordinator answered a join). Records and acknowledgements count
/// only before anything is known (start-up).
struct BrokerReachability: Equatable {
    enum State: Equatable {
        /// Nothing heard yet.
        case unknown
        case reachable
        /// Every broker was down when the loop handled librdkafka's report at `sinceNanos`.
        case down(sinceNanos: UInt64)
    }

    enum Evidence: Equatable {
        /// librdkafka's `ALL_BROKERS_DOWN` (either client).
        case allBrokersDown
        /// Partitions were assigned.
        case assigned
        /// A record was fetched or an output acknowledged.
        case recordOrAcknowledgement
        /// A broker answered a log-end look-up (``LogEnds/answered``) that started at `startedNanos`.
        case lookUpAnswered(startedNanos: UInt64)
    }

    private(set) var state = State.unknown

    /// `nil` while unknown.
    var isReachable: Bool? {
        switch state {
        case .unknown: nil
        case .reachable: true
        case .down: false
        }
    }

    /// Takes `evidence` handled at `now`; returns the new reachability when it changed (to be reported).
    mutating func observe(_ evidence: Evidence, now: UInt64) -> Bool? {
        let before = isReachable
        switch (evidence, state) {
        case (.allBrokersDown, _):
            // A second report (the other client) moves the start later: stricter, never looser.
            state = .down(sinceNanos: now)
        case (.assigned, _):
            state = .reachable
        case (.recordOrAcknowledgement, .unknown):
            state = .reachable
        case (.recordOrAcknowledgement, _):
            break
        case (.lookUpAnswered, .unknown):
            state = .reachable
        case (.lookUpAnswered(let started), .down(let since)) where started > since:
            state = .reachable
        case (.lookUpAnswered, _):
            break
        }
        let after = isReachable
        return after != before ? after : nil
    }
}

@testable import StreamConsumer
import Testing

/// What tells the loop that brokers are reachable again after librdkafka said every one was down.
@Suite struct BrokerReachabilityTests {
    private let second: UInt64 = 1_000_000_000

    @Test func startUpIsReachableOnAnyNews() {
        for evidence: BrokerReachability.Evidence in [.assigned, .recordOrAcknowledgement, .lookUpAnswered(startedNanos: 1)] {
            var reachability = BrokerReachability()
            #expect(reachability.isReachable == nil)
            #expect(reachability.observe(evidence, now: 10 * second) == true, "\(evidence)")
            #expect(reachability.observe(evidence, now: 11 * second) == nil, "reported once: \(evidence)")
        }
    }

    /// A record or an acknowledgement handled after the down event may have been received before it (the
    /// backlog, the producer's queue): it does not end the outage. Neither does a look-up that started before it.
    @Test func afterAnOutageOnlyNewsFromAfterItsStartCounts() {
        var reachability = BrokerReachability()
        _ = reachability.observe(.assigned, now: 1 * second)
        #expect(reachability.observe(.allBrokersDown, now: 10 * second) == false)
        #expect(reachability.observe(.recordOrAcknowledgement, now: 11 * second) == nil)
        #expect(reachability.observe(.lookUpAnswered(startedNanos: 9 * second), now: 12 * second) == nil)
        #expect(reachability.observe(.lookUpAnswered(startedNanos: 10 * second), now: 12 * second) == nil)
        #expect(reachability.isReachable == false)
        #expect(reachability.observe(.lookUpAnswered(startedNanos: 10 * second + 1), now: 13 * second) == true)
        #expect(reachability.isReachable == true)
    }

    @Test func anAssignmentEndsTheOutage() {
        var reachability = BrokerReachability()
        _ = reachability.observe(.allBrokersDown, now: 10 * second)
        #expect(reachability.observe(.assigned, now: 11 * second) == true)
    }

    /// The second client's report of the same outage moves its start later: an answer to a look-up that started
    /// between the two reports is not enough.
    @Test func aSecondDownReportMovesTheStartLater() {
        var reachability = BrokerReachability()
        _ = reachability.observe(.allBrokersDown, now: 10 * second)
        #expect(reachability.observe(.allBrokersDown, now: 12 * second) == nil)
        #expect(reachability.observe(.lookUpAnswered(startedNanos: 11 * second), now: 13 * second) == nil)
        #expect(reachability.observe(.lookUpAnswered(startedNanos: 12 * second + 1), now: 14 * second) == true)
    }
}

@testable import StreamConsumer
import Testing

@testable import consumerd

/// What the metrics scrape makes of the processor's position (`lag_records`, `lag_seconds`), without a broker.
@Suite struct ProcessorLagSourceTests {
    typealias Partition = ConsumerPosition.Partition

    /// A restarted instance rebuilding its state has handled nothing yet: its waiting records must not read as
    /// `lag_seconds` 0 (a test waiting for "drained" took a rebuild for the end of the backlog).
    @Test func recordsWaitingBeforeAnythingWasHandledAgeFromTheAssignment() {
        let position = ConsumerPosition(topic: "ticks.features", partitions: [
            Partition(partition: 0, lagRecords: 1_725, lastHandledTimestamp: nil, assignedTimestamp: 1_000),
            Partition(partition: 1, lagRecords: 0, lastHandledTimestamp: nil, assignedTimestamp: 990),
        ], oldestFetchedTimestamp: nil)
        let snapshot = ProcessorLagSource.snapshot(position)
        #expect(snapshot.oldestWaitingTimestamp == 1_000, "partition 1 has nothing waiting: its assignment does not count")
        #expect(snapshot.partitions.map(\.lagRecords) == [1_725, 0])
    }

    /// Once a record was handled, the last handled record's timestamp bounds the wait, as before; a record
    /// fetched and waiting that is older still wins.
    @Test func theLastHandledRecordAndTheOldestFetchedOneStillDecide() {
        let handled = ConsumerPosition(topic: "t", partitions: [
            Partition(partition: 0, lagRecords: 10, lastHandledTimestamp: 950, assignedTimestamp: 1_000),
        ], oldestFetchedTimestamp: nil)
        #expect(ProcessorLagSource.snapshot(handled).oldestWaitingTimestamp == 950)
        var fetched = handled
        fetched.oldestFetchedTimestamp = 940
        #expect(ProcessorLagSource.snapshot(fetched).oldestWaitingTimestamp == 940)
    }

    /// Caught up everywhere: nothing waits, whatever the assignment time.
    @Test func nothingWaitingMeansNoAge() {
        let caughtUp = ConsumerPosition(topic: "t", partitions: [
            Partition(partition: 0, lagRecords: 0, lastHandledTimestamp: 950, assignedTimestamp: 900),
            Partition(partition: 1, lagRecords: nil, lastHandledTimestamp: nil, assignedTimestamp: 900),
        ], oldestFetchedTimestamp: nil)
        let snapshot = ProcessorLagSource.snapshot(caughtUp)
        #expect(snapshot.oldestWaitingTimestamp == nil)
        #expect(snapshot.partitions.count == 1, "an unknown lag has no series")
    }
}

@testable import StreamConsumer
import Testing

/// Where a state rebuild starts (``RebuildPlan``): pure decisions, no broker.
@Suite struct RebuildPlanTests {
    static func plan(end: Int64 = 10_000, low: Int64 = 0, maxRecords: Int = 5_000, reach: Double? = 60) -> RebuildPlan {
        RebuildPlan(end: end, low: low, maxRecords: maxRecords, reachSeconds: reach)
    }

    // MARK: floor and isEmpty

    @Test func floorIsTheRecordCountBackFromTheEndButNeverBelowTheLowWatermark() {
        #expect(Self.plan(end: 10_000, low: 0, maxRecords: 5_000).floor == 5_000)
        #expect(Self.plan(end: 10_000, low: 7_000, maxRecords: 5_000).floor == 7_000)
        #expect(Self.plan(end: 100, low: 0, maxRecords: 5_000).floor == 0)
        #expect(Self.plan(end: 100, low: 40, maxRecords: 60).floor == 40)
        // A negative count reaches back nowhere.
        #expect(Self.plan(end: 100, low: 0, maxRecords: -5).floor == 100)
    }

    @Test func emptyWhenTheRebuildIsOffOrNothingLiesBeforeTheEnd() {
        #expect(Self.plan(maxRecords: 0).isEmpty, "maxRecords 0 turns the rebuild off")
        #expect(Self.plan(maxRecords: -1).isEmpty)
        #expect(Self.plan(end: 500, low: 500).isEmpty, "low == end: nothing to replay")
        #expect(Self.plan(end: 500, low: 800).isEmpty, "low > end (truncated past the resume point)")
        #expect(Self.plan(end: 0, low: 0).isEmpty)
        #expect(!Self.plan(end: 1, low: 0, maxRecords: 1).isEmpty)
        #expect(!Self.plan(end: 501, low: 500).isEmpty)
        #expect(!Self.plan(reach: nil).isEmpty, "without a reach the rebuild goes by record count")
    }

    // MARK: lookUpTimestampMs

    @Test func lookUpNeedsAReach() {
        #expect(Self.plan(reach: nil).lookUpTimestampMs(lastRecordTimestampMs: 1_700_000_000_000) == nil)
    }

    @Test func lookUpIsTheReachPlusTheMarginBeforeTheLastTimestamp() {
        #expect(RebuildPlan.marginSeconds == 5)
        let last: Int64 = 1_700_000_000_000
        #expect(Self.plan(reach: 60).lookUpTimestampMs(lastRecordTimestampMs: last) == last - 65_000)
        #expect(Self.plan(reach: 0).lookUpTimestampMs(lastRecordTimestampMs: last) == last - 5_000)
        #expect(Self.plan(reach: 300).lookUpTimestampMs(lastRecordTimestampMs: last) == last - 305_000)
        // Fractions of a millisecond round towards reading more, never less.
        #expect(Self.plan(reach: 0.0004).lookUpTimestampMs(lastRecordTimestampMs: last) == last - 5_001)
        #expect(Self.plan(reach: 1.5).lookUpTimestampMs(lastRecordTimestampMs: last) == last - 6_500)
    }

    // MARK: start(timeLookUp:)

    @Test func startClampsTheLookUpBetweenTheFloorAndTheLastRecord() {
        let plan = Self.plan(end: 10_000, low: 0, maxRecords: 5_000)
        #expect(plan.start(timeLookUp: 9_934) == 9_934)
        #expect(plan.start(timeLookUp: 5_000) == 5_000)
        #expect(plan.start(timeLookUp: 9_999) == 9_999)
        #expect(plan.start(timeLookUp: 1_200) == 5_000, "further back than maxRecords: capped at the floor")
        #expect(plan.start(timeLookUp: 0) == 5_000)
        #expect(plan.start(timeLookUp: 10_000) == 9_999, "at the end: still the last record")
        #expect(plan.start(timeLookUp: 12_345) == 9_999, "beyond the end (newer records after the resume point)")
    }

    @Test func startWithoutAnAnswerIsTheFloor() {
        #expect(Self.plan(end: 10_000, maxRecords: 5_000).start(timeLookUp: nil) == 5_000)
        #expect(Self.plan(end: 10_000, low: 8_000, maxRecords: 5_000).start(timeLookUp: nil) == 8_000)
        #expect(Self.plan(end: 10_000, low: 8_000, maxRecords: 5_000).start(timeLookUp: 10) == 8_000)
    }

    // MARK: stepBack

    @Test func noStepBackWhenTheFirstRecordIsOldEnough() {
        let plan = Self.plan(end: 10_000, maxRecords: 5_000, reach: 60)
        #expect(plan.stepBack(from: 9_934, firstEventTime: 1_000, lastEventTime: 1_065) == nil)
        #expect(plan.stepBack(from: 9_934, firstEventTime: 1_000, lastEventTime: 1_060) == nil, "exactly reach old is enough")
        #expect(plan.stepBack(from: 9_934, firstEventTime: 900, lastEventTime: 1_060) == nil)
    }

    @Test func stepsBackWhenTheFirstRecordIsTooNew() {
        let plan = Self.plan(end: 10_000, maxRecords: 5_000, reach: 60)
        // 66 records back; too new by a hair: back by max(1000, 66) = 1000.
        #expect(plan.stepBack(from: 9_934, firstEventTime: 1_000.001, lastEventTime: 1_060) == 8_934)
        // Already 3000 back: doubles the distance from the end.
        #expect(plan.stepBack(from: 7_000, firstEventTime: 1_050, lastEventTime: 1_060) == 5_000)
        #expect(plan.stepBack(from: 8_000, firstEventTime: 1_050, lastEventTime: 1_060) == 6_000)
    }

    @Test func stepBackNeverGoesBelowTheFloorAndStopsThere() {
        let plan = Self.plan(end: 10_000, low: 0, maxRecords: 5_000, reach: 60)
        #expect(plan.stepBack(from: 5_500, firstEventTime: 1_050, lastEventTime: 1_060) == 5_000)
        #expect(plan.stepBack(from: 5_001, firstEventTime: 1_050, lastEventTime: 1_060) == 5_000)
        #expect(plan.stepBack(from: 5_000, firstEventTime: 1_050, lastEventTime: 1_060) == nil, "at the floor: cannot move")
        #expect(plan.stepBack(from: 4_000, firstEventTime: 1_050, lastEventTime: 1_060) == nil, "below the floor: cannot move")
        // The low watermark is the floor.
        let truncated = Self.plan(end: 10_000, low: 9_500, maxRecords: 5_000, reach: 60)
        #expect(truncated.stepBack(from: 9_934, firstEventTime: 1_050, lastEventTime: 1_060) == 9_500)
        #expect(truncated.stepBack(from: 9_500, firstEventTime: 1_050, lastEventTime: 1_060) == nil)
    }

    @Test func repeatedStepBacksReachTheFloorInFewSteps() {
        let plan = Self.plan(end: 100_000, low: 0, maxRecords: 100_000, reach: 60)
        var start: Int64 = 99_934
        var steps = 0
        while let next = plan.stepBack(from: start, firstEventTime: 1_059, lastEventTime: 1_060) {
            #expect(next < start)
            #expect(next >= plan.floor)
            start = next
            steps += 1
        }
        #expect(start == plan.floor)
        #expect(steps <= 8, "distance doubles: \(steps) steps")
    }

    @Test func noStepBackWithoutAReachOrEventTimes() {
        #expect(Self.plan(reach: nil).stepBack(from: 9_934, firstEventTime: 1_050, lastEventTime: 1_060) == nil)
        #expect(Self.plan().stepBack(from: 9_934, firstEventTime: nil, lastEventTime: 1_060) == nil)
        #expect(Self.plan().stepBack(from: 9_934, firstEventTime: 1_050, lastEventTime: nil) == nil)
        #expect(Self.plan().stepBack(from: 9_934, firstEventTime: nil, lastEventTime: nil) == nil)
    }
}

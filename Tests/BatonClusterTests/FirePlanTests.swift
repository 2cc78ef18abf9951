import BatonModel
import BatonScheduler
import Foundation
import Testing

/// What a fire of a due schedule creates, and where the schedule goes on:
/// on time, and after missed fire times under each misfire policy. Pure.
@Suite struct FirePlanTests {
    private static let start = Date(timeIntervalSince1970: 1_800_000_000)
    /// `@every 10s`: fire times at whole multiples of ten seconds.
    private static func everyTen(_ after: Date) -> Date? {
        Date(timeIntervalSince1970: (after.timeIntervalSince1970 / 10).rounded(.down) * 10 + 10)
    }

    @Test func aFireTimeWithinTheGraceFiresAndTheNextFollowsIt() {
        let due = Self.start
        let plan = FirePlan(due: due, now: due.addingTimeInterval(0.3), misfire: .skip, grace: 5, nextFire: Self.everyTen)
        #expect(plan.fireTimes == [due])
        #expect(plan.next == due.addingTimeInterval(10))
        let late = FirePlan(due: due, now: due.addingTimeInterval(4.9), misfire: .skip, grace: 5, nextFire: Self.everyTen)
        #expect(late.fireTimes == [due], "late within the grace is on time, whatever the policy")
    }

    @Test func missedFireTimesUnderEachPolicy() {
        let due = Self.start
        let now = due.addingTimeInterval(63)  // 00, 10 … 50 missed; 60 within the grace of 5 s
        let once = FirePlan(due: due, now: now, misfire: .runOnce, grace: 5, nextFire: Self.everyTen)
        #expect(once.fireTimes == [due], "one task for the missed times")
        #expect(once.next == due.addingTimeInterval(60), "then on from the first time still on time")
        let skip = FirePlan(due: due, now: now, misfire: .skip, grace: 5, nextFire: Self.everyTen)
        #expect(skip.fireTimes.isEmpty)
        #expect(skip.next == due.addingTimeInterval(60))
        let all = FirePlan(due: due, now: now, misfire: .runAll, grace: 5, nextFire: Self.everyTen)
        #expect(all.fireTimes == (0..<6).map { due.addingTimeInterval(Double($0) * 10) })
        #expect(all.next == due.addingTimeInterval(60))
    }

    @Test func runAllStopsAtItsLimit() {
        let due = Self.start
        let now = due.addingTimeInterval(10 * 1000)
        let all = FirePlan(due: due, now: now, misfire: .runAll, grace: 5, nextFire: Self.everyTen)
        #expect(all.fireTimes.count == ScheduleRecord.runAllLimit)
        #expect(all.fireTimes.first == due)
        #expect(all.next == now, "the missed times past the limit are skipped: on from now")
    }

    @Test func anExpressionThatFiresNoMoreEndsTheSchedule() {
        let due = Self.start
        let plan = FirePlan(due: due, now: due, misfire: .runOnce, grace: 5, nextFire: { _ in nil })
        #expect(plan.fireTimes == [due])
        #expect(plan.next == nil)
    }

    @Test func aFireTimeExactlyAtTheGraceIsNeitherMissedNorLost() {
        let due = Self.start
        let now = due.addingTimeInterval(25)  // on time from due + 20 exactly
        for policy in [ScheduleRecord.Misfire.runOnce, .skip, .runAll] {
            let plan = FirePlan(due: due, now: now, misfire: policy, grace: 5, nextFire: Self.everyTen)
            #expect(plan.next == due.addingTimeInterval(20), "\(policy): the time at the boundary is still on time")
            #expect(!plan.fireTimes.contains(due.addingTimeInterval(20)))
        }
    }
}

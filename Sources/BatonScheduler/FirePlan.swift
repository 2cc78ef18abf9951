import BatonModel
import Foundation

/// What one fire of a due schedule does: the fire times that get a task,
/// and the schedule's next fire time after them. Pure: the firer and the
/// tests compute it the same way.
public struct FirePlan: Sendable, Equatable {
    public var fireTimes: [Date]
    public var next: Date?

    public init(fireTimes: [Date], next: Date?) {
        self.fireTimes = fireTimes
        self.next = next
    }

    /// `due` is the schedule's pending fire time (at or before `now`). A fire
    /// time at most `grace` late is on time and fires as such (a leader that
    /// slept a little, a slow tick); one later than that was missed (no
    /// leader, the schedule paused, the cluster down) and the misfire policy
    /// decides: run once (one task, for the first missed time), skip, or run
    /// all (a task for each, at most `ScheduleRecord.runAllLimit`). After
    /// missed times the schedule goes on from the first fire time that is
    /// still on time. `nextFire(t)` is the expression's first fire time
    /// strictly after t.
    public init(
        due: Date, now: Date, misfire: ScheduleRecord.Misfire, grace: TimeInterval, nextFire: (Date) -> Date?
    ) {
        let onTimeFrom = now.addingTimeInterval(-grace)
        guard due < onTimeFrom else {
            self.init(fireTimes: [due], next: nextFire(due))
            return
        }
        // The first fire time still on time (at or after `onTimeFrom`):
        // `nextFire` is strictly after whole seconds, so step from a second before.
        var resume = nextFire(onTimeFrom.addingTimeInterval(-1))
        while let time = resume, time < onTimeFrom { resume = nextFire(time) }
        switch misfire {
        case .skip:
            self.init(fireTimes: [], next: resume)
        case .runOnce:
            self.init(fireTimes: [due], next: resume)
        case .runAll:
            var missed = [due]
            var next = nextFire(due)
            while let time = next, time < onTimeFrom, missed.count < ScheduleRecord.runAllLimit {
                missed.append(time)
                next = nextFire(time)
            }
            self.init(fireTimes: missed, next: resume)
        }
    }
}

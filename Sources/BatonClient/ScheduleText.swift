import BatonProto
import Foundation

/// Schedules as `baton-client schedule …` prints them and reads its policy
/// options; here (not in the executable) so tests can check them.
public enum ScheduleText {
    /// `run-once`, `skip`, `run-all` as typed; nil for anything else.
    public static func misfire(_ text: String) -> Baton_V1_MisfirePolicy? {
        switch text.lowercased().replacingOccurrences(of: "_", with: "-") {
        case "run-once", "once": .misfireRunOnce
        case "skip": .misfireSkip
        case "run-all", "all": .misfireRunAll
        default: nil
        }
    }

    /// `allow`, `skip`, `cancel-previous` as typed; nil for anything else.
    public static func overlap(_ text: String) -> Baton_V1_OverlapPolicy? {
        switch text.lowercased() {
        case "allow": .overlapAllow
        case "skip": .overlapSkip
        case "cancel-previous", "cancel": .overlapCancelPrevious
        default: nil
        }
    }

    public static func name(_ misfire: Baton_V1_MisfirePolicy) -> String {
        switch misfire {
        case .misfireRunOnce: "run-once"
        case .misfireSkip: "skip"
        case .misfireRunAll: "run-all"
        case .UNRECOGNIZED(let value): "\(value)?"
        }
    }

    public static func name(_ overlap: Baton_V1_OverlapPolicy) -> String {
        switch overlap {
        case .overlapAllow: "allow"
        case .overlapSkip: "skip"
        case .overlapCancelPrevious: "cancel-previous"
        case .UNRECOGNIZED(let value): "\(value)?"
        }
    }

    /// One row per schedule: id, cron, zone, type, next and last fire, last task, state.
    public static func table(_ schedules: [Baton_V1_Schedule], now: Date = Date()) -> TextTable {
        var table = TextTable(header: ["SCHEDULE", "CRON", "ZONE", "TYPE", "NEXT", "LAST", "LAST TASK", "STATE"])
        for schedule in schedules {
            table.append([
                TextTable.Cell(schedule.scheduleID), TextTable.Cell(schedule.cron), TextTable.Cell(schedule.timeZone.isEmpty ? "UTC" : schedule.timeZone, .dim),
                TextTable.Cell(schedule.taskType),
                schedule.paused || !schedule.hasNextFireAt ? TextTable.Cell("-", .dim) : TextTable.Cell(TimeText.relative(schedule.nextFireAt.date, now: now)),
                schedule.hasLastFireAt ? TextTable.Cell(TimeText.relative(schedule.lastFireAt.date, now: now), .dim) : TextTable.Cell("-", .dim),
                TextTable.Cell(schedule.lastTaskID.isEmpty ? "-" : schedule.lastTaskID, .dim),
                schedule.paused ? TextTable.Cell("paused", .yellow) : TextTable.Cell("active", .green),
            ])
        }
        return table
    }

    /// Every field, one per line, times absolute (UTC) and relative.
    public static func detail(_ schedule: Baton_V1_Schedule, now: Date = Date()) -> String {
        func time(_ present: Bool, _ date: Date) -> String {
            present ? "\(TimeText.absolute(date))  (\(TimeText.relative(date, now: now)))" : "-"
        }
        var lines: [(String, String)] = [
            ("schedule", schedule.scheduleID),
            ("cron", schedule.cron + (schedule.timeZone.isEmpty ? "  (UTC)" : "  (\(schedule.timeZone))")),
            ("type", schedule.taskType),
            ("state", schedule.paused ? "paused" : "active"),
            ("next fire", schedule.paused ? "- (paused)" : time(schedule.hasNextFireAt, schedule.nextFireAt.date)),
            ("last fire", time(schedule.hasLastFireAt, schedule.lastFireAt.date)),
            ("last task", schedule.lastTaskID.isEmpty ? "-" : schedule.lastTaskID),
            ("misfire", Self.name(schedule.misfire)),
            ("overlap", Self.name(schedule.overlap)),
            ("priority", schedule.priority == .high ? "high" : "normal"),
            ("timeout", schedule.hasTimeoutSeconds ? "\(schedule.timeoutSeconds)s" : "the type's"),
            ("retries", schedule.hasMaxRetries ? "\(schedule.maxRetries)" : "the type's"),
        ]
        for (key, value) in schedule.payload.sorted(by: { $0.key < $1.key }) { lines.append(("payload", "\(key)=\(value)")) }
        if schedule.hasArgs { lines.append(("args", ArgumentsText.text(schedule.args))) }
        lines.append(("updated", time(schedule.hasUpdatedAt, schedule.updatedAt.date)))
        return lines.map { "\($0.0.padding(toLength: 10, withPad: " ", startingAt: 0)) \($0.1)" }.joined(separator: "\n")
    }
}

// BatonCron: the `cron` and `time_zone` of a Schedule (proto/baton/v1/admin_service.proto)
// and their fire times. Foundation only; no server. docs/cron.md is the user's reference.
//
// Grammar (case-insensitive; fields separated by spaces or tabs):
//
//   expression := fields5 | fields6 | macro
//   fields5    := minute hour day-of-month month day-of-week
//   fields6    := second minute hour day-of-month month day-of-week      (seconds FIRST)
//   macro      := @yearly | @annually | @monthly | @weekly | @daily | @midnight | @hourly
//               | @every duration          duration := [N h][N m][N s], e.g. 30s, 5m, 1h30m
//   field      := item ("," item)*
//   item       := "*" | "*/" step | value | value "-" value ["/" step] | value "/" step
//
//   second, minute 0-59; hour 0-23; day-of-month 1-31; month 1-12 or JAN-DEC;
//   day-of-week 0-7 or SUN-SAT (0 and 7 are Sunday). "a/n" is "a-max/n". A range whose
//   start is after its end wraps (hour 22-2 is 22,23,0,1,2; FRI-MON); a step counts on
//   across the wrap. "a-a" is the single value a. A step is 1 up to the field's size.
//   When day-of-month and day-of-week are both restricted, a day matches if either does
//   (see CalendarPattern.dayRule for what "restricted" means, as croniter has it).
//   Refused, with a message naming the field: L, W, #, ?, H, 7-field (year) forms, values
//   out of range, and expressions that can never fire (0 0 30 2 *).
//
// Time zones and daylight saving (CronSchedule): fields match the wall clock of the
// schedule's IANA time zone (empty = UTC).
//   - An expression whose hour field allows every hour (`*/15 * * * *`, `0 * * * *`,
//     `@hourly`) runs on real time: it fires at every instant whose wall-clock time
//     matches. A repeated hour (fall back) fires again; a skipped hour (spring forward)
//     has no instants and fires nothing, and the cadence goes on after it.
//   - Any other expression names local times, and each matching local time fires once:
//     a time repeated by fall back fires at its first occurrence only; a time skipped by
//     spring forward fires at the first instant after the gap (02:30 on a day that goes
//     from 02:00 to 03:00 fires at 03:00); several skipped times fire once there.
//   - `@every` ignores the time zone: multiples of the duration since the Unix epoch.

import Foundation

/// A parsed cron expression, valid by construction: `init(parsing:)` refuses what the
/// contract does not name, with a `CronError` pointing at the field.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    enum Rule: Sendable, Hashable {
        case calendar(CalendarPattern)
        case every(EveryInterval)
    }

    /// The expression as written (without surrounding spaces).
    public let source: String
    let rule: Rule

    /// The `@every` duration, or nil for a calendar expression.
    public var interval: EveryInterval? {
        if case .every(let interval) = rule { return interval }
        return nil
    }

    public var description: String { source }

    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    public init(parsing text: String) throws(CronError) {
        let source = text.trimmingCharacters(in: .whitespacesAndNewlines)
        self.source = source
        func refuse(_ reason: String) -> CronError { CronError(field: .expression, text: source, reason: reason) }

        let words = source.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if source.hasPrefix("@") {
            let macro = words[0].lowercased()
            if macro == "@every" {
                guard words.count <= 2 else {
                    throw CronError(
                        field: .interval, text: words.dropFirst().joined(separator: " "),
                        reason: "write the duration without spaces, e.g. 1h30m")
                }
                rule = .every(try EveryInterval(parsing: words.count == 2 ? words[1].lowercased() : ""))
                return
            }
            guard let fields = Self.macros[macro] else {
                throw refuse("unknown macro \(words[0]); use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration> (e.g. @every 5m)")
            }
            guard words.count == 1 else { throw refuse("\(words[0]) takes nothing after it") }
            rule = .calendar(try Self.pattern(fields.split(separator: " ").map(String.init)))
            return
        }
        switch words.count {
        case 0:
            throw refuse("the expression is empty; write 5 fields (minute hour day-of-month month day-of-week), 6 (with seconds first), or a macro such as @daily or @every 5m")
        case 5, 6:
            rule = .calendar(try Self.pattern(words))
        default:
            throw refuse("\(words.count) field\(words.count == 1 ? "" : "s") found; write 5 (minute hour day-of-month month day-of-week) or 6 (second minute hour day-of-month month day-of-week)")
        }
    }

    private static func pattern(_ words: [String]) throws(CronError) -> CalendarPattern {
        do {
            return try pattern(fields: words.count == 6 ? words : ["0"] + words)
        } catch where words.count == 6 && error.field == .dayOfWeek && error.reason.contains("out of range") {
            // "0 0 1 1 * 2030" is a year-last form (Quartz, croniter's 7 fields) read as seconds-first.
            throw CronError(
                field: error.field, text: error.text,
                reason: error.reason + "; six fields are second minute hour day-of-month month day-of-week (seconds first, no year)")
        }
    }

    private static func pattern(fields: [String]) throws(CronError) -> CalendarPattern {
        let daysOfMonth = try FieldSpec.dayOfMonth.parse(fields[3])
        let daysOfWeek = try FieldSpec.dayOfWeek.parse(fields[5])
        let pattern = CalendarPattern(
            seconds: try FieldSpec.second.parse(fields[0]),
            minutes: try FieldSpec.minute.parse(fields[1]),
            hours: try FieldSpec.hour.parse(fields[2]),
            daysOfMonth: daysOfMonth,
            months: try FieldSpec.month.parse(fields[4]),
            daysOfWeek: daysOfWeek,
            dayRule: CalendarPattern.dayRule(
                dayOfMonthText: fields[3], daysOfMonth: daysOfMonth,
                dayOfWeekText: fields[5], daysOfWeek: daysOfWeek))
        guard pattern.canFire else {
            let firstDay = daysOfMonth.first!
            let orLater = daysOfMonth.count > 1 ? " or later" : ""
            throw CronError(
                field: .dayOfMonth, text: fields[3],
                reason: "no month of the month field \"\(fields[4])\" has a day \(firstDay)\(orLater), so the expression would never fire")
        }
        return pattern
    }
}

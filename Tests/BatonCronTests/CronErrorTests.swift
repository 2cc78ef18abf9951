import Testing

@testable import BatonCron

/// Refusals name the field, quote its text and say why.
@Suite struct CronErrorTests {
    struct Refusal: Sendable, CustomTestStringConvertible {
        let cron: String
        let field: CronField
        let message: String  // the whole description, or its start when `prefix`
        var prefix = false
        var testDescription: String { cron }
    }

    static let refusals: [Refusal] = [
        Refusal(cron: "0 25 * * *", field: .hour, message: #"hour field "25": 25 is out of range 0-23"#),
        Refusal(cron: "60 * * * *", field: .minute, message: #"minute field "60": 60 is out of range 0-59"#),
        Refusal(cron: "61 0 * * * *", field: .second, message: #"second field "61": 61 is out of range 0-59"#),
        Refusal(cron: "0 0 0 * *", field: .dayOfMonth, message: #"day-of-month field "0": 0 is out of range 1-31"#),
        Refusal(cron: "0 0 1 13 *", field: .month, message: #"month field "13": 13 is out of range 1-12"#),
        Refusal(cron: "0 0 * * 8", field: .dayOfWeek, message: #"day-of-week field "8": 8 is out of range 0-7 (0 and 7 are Sunday)"#),
        Refusal(cron: "0 0 * * 1-9", field: .dayOfWeek, message: #"day-of-week field "1-9": 9 is out of range 0-7 (0 and 7 are Sunday)"#),
        Refusal(cron: "0 0 1 FOO *", field: .month, message: #"month field "FOO": "FOO" is not a number or a month name (JAN-DEC)"#),
        Refusal(cron: "0 0 * * MONDAY", field: .dayOfWeek, message: #"day-of-week field "MONDAY": "MONDAY" is not a number or a day name (SUN-SAT)"#),
        Refusal(cron: "0 MON * * *", field: .hour, message: #"hour field "MON": "MON" is not a number"#),
        Refusal(cron: "0 0 L * *", field: .dayOfMonth, message: #"day-of-month field "L": "L" (last day) is not supported"#, prefix: true),
        Refusal(cron: "0 0 * * 5L", field: .dayOfWeek, message: #"day-of-week field "5L": "L" (last day) is not supported"#, prefix: true),
        Refusal(cron: "0 0 15W * *", field: .dayOfMonth, message: #"day-of-month field "15W": "W" (nearest weekday) is not supported"#, prefix: true),
        Refusal(cron: "0 0 * * MON#2", field: .dayOfWeek, message: ##"day-of-week field "MON#2": "#" (nth weekday of the month) is not supported"##, prefix: true),
        Refusal(cron: "0 0 ? * MON", field: .dayOfMonth, message: #"day-of-month field "?": "?" is not supported; write "*" for any value"#),
        Refusal(cron: "H * * * *", field: .minute, message: #"minute field "H": "H" (hashed values) is not supported; write the values"#),
        Refusal(cron: "*/0 * * * *", field: .minute, message: #"minute field "*/0": the step in "*/0" must be at least 1"#),
        Refusal(cron: "*/90 * * * *", field: .minute, message: #"minute field "*/90": the step 90 in "*/90" is larger than the 60 values 0-59 of this field"#),
        Refusal(cron: "*/x * * * *", field: .minute, message: #"minute field "*/x": the step after "/" in "*/x" must be a whole number, e.g. */5"#),
        Refusal(cron: "1/2/3 * * * *", field: .minute, message: #"minute field "1/2/3": "1/2/3" has more than one "/""#),
        Refusal(cron: "1,,2 * * * *", field: .minute, message: #"minute field "1,,2": the list has an empty item; separate values with single commas, e.g. 1,15"#),
        Refusal(cron: "*,5 * * * *", field: .minute, message: #"minute field "*,5": "*" cannot be one item of a list; write "*" alone, or list the values"#),
        Refusal(cron: "0 -5 * * *", field: .hour, message: #"hour field "-5": "-5" is not a range"#, prefix: true),
        Refusal(cron: "0 1-2-3 * * *", field: .hour, message: #"hour field "1-2-3": "1-2-3" is not a range"#, prefix: true),
        Refusal(cron: "0 0 30 2 *", field: .dayOfMonth, message: #"day-of-month field "30": no month of the month field "2" has a day 30, so the expression would never fire"#),
        Refusal(cron: "0 0 31 APR,JUN,SEP,NOV *", field: .dayOfMonth, message: #"day-of-month field "31": no month of the month field "APR,JUN,SEP,NOV" has a day 31, so the expression would never fire"#),
        Refusal(cron: "0 0 30,31 FEB *", field: .dayOfMonth, message: #"day-of-month field "30,31": no month of the month field "FEB" has a day 30 or later, so the expression would never fire"#),
        Refusal(cron: "1 2 3", field: .expression, message: #"cron expression "1 2 3": 3 fields found; write 5 (minute hour day-of-month month day-of-week) or 6 (second minute hour day-of-month month day-of-week)"#),
        Refusal(cron: "0 0 1 1 * 2030 x", field: .expression, message: #"cron expression "0 0 1 1 * 2030 x": 7 fields found"#, prefix: true),
        Refusal(cron: "0 0 1 1 * 2030", field: .dayOfWeek, message: #"day-of-week field "2030": 2030 is out of range 0-7 (0 and 7 are Sunday); six fields are second minute hour day-of-month month day-of-week (seconds first, no year)"#),
        Refusal(cron: "   ", field: .expression, message: #"cron expression "": the expression is empty"#, prefix: true),
        Refusal(cron: "@reboot", field: .expression, message: #"cron expression "@reboot": unknown macro @reboot; use @yearly"#, prefix: true),
        Refusal(cron: "@daily 5", field: .expression, message: #"cron expression "@daily 5": @daily takes nothing after it"#),
        Refusal(cron: "@every", field: .interval, message: #"@every interval "": a duration is needed after @every"#, prefix: true),
        Refusal(cron: "@every 0s", field: .interval, message: #"@every interval "0s": the interval must be at least 1s"#),
        Refusal(cron: "@every 0h0m", field: .interval, message: #"@every interval "0h0m": the interval must be at least 1s"#),
        Refusal(cron: "@every 5", field: .interval, message: #"@every interval "5": 5 needs a unit (h, m or s), e.g. 5s"#),
        Refusal(cron: "@every 5d", field: .interval, message: #"@every interval "5d": "d" is not a unit"#, prefix: true),
        Refusal(cron: "@every 1m1h", field: .interval, message: #"@every interval "1m1h": write the units in the order h, m, s, each once (e.g. 1h30m)"#),
        Refusal(cron: "@every 5m5m", field: .interval, message: #"@every interval "5m5m": write the units in the order h, m, s"#, prefix: true),
        Refusal(cron: "@every -5m", field: .interval, message: #"@every interval "-5m": "-" is not a unit"#, prefix: true),
        Refusal(cron: "@every 1.5h", field: .interval, message: #"@every interval "1.5h": "." is not a unit"#, prefix: true),
        Refusal(cron: "@every 9000h", field: .interval, message: #"@every interval "9000h": the interval must be at most 8784h"#, prefix: true),
        Refusal(cron: "@every 5m 30s", field: .interval, message: #"@every interval "5m 30s": write the duration without spaces, e.g. 1h30m"#),
    ]

    @Test(arguments: refusals)
    func refused(_ refusal: Refusal) {
        do {
            let accepted = try CronExpression(parsing: refusal.cron)
            Issue.record("\(refusal.cron) was accepted as \(accepted)")
        } catch {
            #expect(error.field == refusal.field)
            if refusal.prefix {
                #expect(error.description.hasPrefix(refusal.message), "\(error.description)")
            } else {
                #expect(error.description == refusal.message)
            }
            #expect(error.localizedDescription == error.description)
        }
    }
}

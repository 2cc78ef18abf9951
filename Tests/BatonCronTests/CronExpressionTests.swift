import Foundation
import Testing

@testable import BatonCron

/// Every field form, the macros, and how the two day fields combine.
@Suite struct CronExpressionTests {
    func pattern(_ cron: String) throws -> CalendarPattern {
        guard case .calendar(let pattern) = try CronExpression(parsing: cron).rule else {
            throw CronError(field: .expression, text: cron, reason: "not a calendar expression")
        }
        return pattern
    }

    func utcFires(_ cron: String, after start: String, count: Int) throws -> [Date] {
        let schedule = try CronSchedule(cron: cron, timeZoneName: "")
        var fires: [Date] = []
        var cursor = instant(start)
        while fires.count < count, let next = schedule.nextFire(after: cursor) {
            fires.append(next)
            cursor = next
        }
        return fires
    }

    struct FieldForm: Sendable, CustomTestStringConvertible {
        let cron: String
        let field: KeyPath<CalendarPattern, FieldSet> & Sendable
        let values: [Int]
        var testDescription: String { cron }
    }

    static let fieldForms: [FieldForm] = [
        FieldForm(cron: "* * * * *", field: \.minutes, values: Array(0...59)),
        FieldForm(cron: "7 * * * *", field: \.minutes, values: [7]),
        FieldForm(cron: "07 * * * *", field: \.minutes, values: [7]),
        FieldForm(cron: "1,2,40 * * * *", field: \.minutes, values: [1, 2, 40]),
        FieldForm(cron: "*/15 * * * *", field: \.minutes, values: [0, 15, 30, 45]),
        FieldForm(cron: "10-20 * * * *", field: \.minutes, values: Array(10...20)),
        FieldForm(cron: "10-30/7 * * * *", field: \.minutes, values: [10, 17, 24]),
        FieldForm(cron: "5/20 * * * *", field: \.minutes, values: [5, 25, 45]),
        FieldForm(cron: "59/15 * * * *", field: \.minutes, values: [59]),
        FieldForm(cron: "5-5 * * * *", field: \.minutes, values: [5]),
        FieldForm(cron: "1-3,*/20,50 * * * *", field: \.minutes, values: [0, 1, 2, 3, 20, 40, 50]),
        FieldForm(cron: "50-10/15 * * * *", field: \.minutes, values: [5, 50]),
        FieldForm(cron: "0 22-2 * * *", field: \.hours, values: [0, 1, 2, 22, 23]),
        FieldForm(cron: "0 */5 * * *", field: \.hours, values: [0, 5, 10, 15, 20]),
        FieldForm(cron: "0 0 1,15,31 * *", field: \.daysOfMonth, values: [1, 15, 31]),
        FieldForm(cron: "0 0 */10 * *", field: \.daysOfMonth, values: [1, 11, 21, 31]),
        FieldForm(cron: "0 0 1 JAN,mar,Jun *", field: \.months, values: [1, 3, 6]),
        FieldForm(cron: "0 0 1 jan-apr/2 *", field: \.months, values: [1, 3]),
        FieldForm(cron: "0 0 1 NOV-FEB *", field: \.months, values: [1, 2, 11, 12]),
        FieldForm(cron: "0 0 1 2/5 *", field: \.months, values: [2, 7, 12]),
        FieldForm(cron: "0 0 * * MON-FRI", field: \.daysOfWeek, values: [1, 2, 3, 4, 5]),
        FieldForm(cron: "0 0 * * sun,Sat", field: \.daysOfWeek, values: [0, 6]),
        FieldForm(cron: "0 0 * * 7", field: \.daysOfWeek, values: [0]),
        FieldForm(cron: "0 0 * * 5-7", field: \.daysOfWeek, values: [0, 5, 6]),
        FieldForm(cron: "0 0 * * 0-7", field: \.daysOfWeek, values: Array(0...6)),
        FieldForm(cron: "0 0 * * 7-2", field: \.daysOfWeek, values: [0, 1, 2]),
        FieldForm(cron: "0 0 * * FRI-MON", field: \.daysOfWeek, values: [0, 1, 5, 6]),
        FieldForm(cron: "0 0 * * */2", field: \.daysOfWeek, values: [0, 2, 4, 6]),
        FieldForm(cron: "0 0 * * 1-7/2", field: \.daysOfWeek, values: [0, 1, 3, 5]),
        FieldForm(cron: "0 0 * * 7/3", field: \.daysOfWeek, values: [0, 3, 6]),
        // Six fields: seconds first.
        FieldForm(cron: "*/20 1 * * * *", field: \.seconds, values: [0, 20, 40]),
        FieldForm(cron: "*/20 1 * * * *", field: \.minutes, values: [1]),
        FieldForm(cron: "1 2 3 4 5 6", field: \.hours, values: [3]),
        FieldForm(cron: "1 2 3 4 5 6", field: \.daysOfWeek, values: [6]),
        // Five fields fire at second 0.
        FieldForm(cron: "* * * * *", field: \.seconds, values: [0]),
    ]

    @Test(arguments: fieldForms)
    func fieldForm(_ form: FieldForm) throws {
        #expect(try pattern(form.cron)[keyPath: form.field].values == form.values)
    }

    @Test func spacesAndTabsSeparateFields() throws {
        #expect(try pattern("  0\t12   * * MON  ") == pattern("0 12 * * 1"))
    }

    @Test func macros() throws {
        #expect(try pattern("@yearly") == pattern("0 0 1 1 *"))
        #expect(try pattern("@annually") == pattern("0 0 1 1 *"))
        #expect(try pattern("@monthly") == pattern("0 0 1 * *"))
        #expect(try pattern("@weekly") == pattern("0 0 * * 0"))
        #expect(try pattern("@daily") == pattern("0 0 * * *"))
        #expect(try pattern("@midnight") == pattern("0 0 * * *"))
        #expect(try pattern("@hourly") == pattern("0 * * * *"))
        #expect(try pattern("@DAILY") == pattern("0 0 * * *"))
        #expect(try utcFires("@weekly", after: "2024-05-01T10:00:00Z", count: 2) == [
            instant("2024-05-05T00:00:00Z"), instant("2024-05-12T00:00:00Z"),
        ])
        #expect(try utcFires("@yearly", after: "2024-01-01T00:00:00Z", count: 1) == [instant("2025-01-01T00:00:00Z")])
        #expect(try utcFires("@monthly", after: "2024-01-31T12:00:00Z", count: 2) == [
            instant("2024-02-01T00:00:00Z"), instant("2024-03-01T00:00:00Z"),
        ])
    }

    @Test func nextFireIsStrictlyAfter() throws {
        #expect(try utcFires("0 12 * * *", after: "2024-05-01T12:00:00Z", count: 1) == [instant("2024-05-02T12:00:00Z")])
        #expect(try utcFires("0 12 * * *", after: "2024-05-01T11:59:59Z", count: 1) == [instant("2024-05-01T12:00:00Z")])
        #expect(try utcFires("* * * * * *", after: "2024-12-31T23:59:59Z", count: 2) == [
            instant("2025-01-01T00:00:00Z"), instant("2025-01-01T00:00:01Z"),
        ])
    }

    @Test func monthsWithoutTheDayAreSkipped() throws {
        #expect(try utcFires("0 0 31 * *", after: "2024-01-31T00:00:00Z", count: 3) == [
            instant("2024-03-31T00:00:00Z"), instant("2024-05-31T00:00:00Z"), instant("2024-07-31T00:00:00Z"),
        ])
        // February 29th: the longest wait, 8 years across 2100, is inside the search horizon.
        #expect(try utcFires("0 0 29 2 *", after: "2096-03-01T00:00:00Z", count: 1) == [instant("2104-02-29T00:00:00Z")])
    }

    // The day fields: both restricted -> either matches (Vixie cron, croniter).

    @Test func bothDayFieldsRestrictedMatchEither() throws {
        // 2024-09-13 is a Friday; the 13ths and the Fridays in between all fire.
        #expect(try utcFires("0 0 13 * FRI", after: "2024-09-01T00:00:00Z", count: 5) == [
            instant("2024-09-06T00:00:00Z"), instant("2024-09-13T00:00:00Z"), instant("2024-09-20T00:00:00Z"),
            instant("2024-09-27T00:00:00Z"), instant("2024-10-04T00:00:00Z"),
        ])
        #expect(try pattern("0 0 13 * FRI").dayRule == .either)
        // A written-out full day-of-month is restricted: with a day of week, every day fires.
        #expect(try pattern("0 0 1-31 * MON").dayRule == .either)
    }

    @Test func oneRestrictedDayFieldDecidesAlone() throws {
        #expect(try pattern("0 0 13 * *").dayRule == .dayOfMonthOnly)
        #expect(try pattern("0 0 * * FRI").dayRule == .dayOfWeekOnly)
        #expect(try pattern("0 0 * * *").dayRule == .everyDay)
        // croniter: a field naming every day counts as "*" when the other is written with a "*".
        #expect(try pattern("0 0 */2 * */1").dayRule == .dayOfMonthOnly)
        #expect(try pattern("0 0 */1 * MON").dayRule == .either)
        #expect(try utcFires("0 0 */2 * 0-6", after: "2024-09-01T00:00:00Z", count: 2) == [
            instant("2024-09-03T00:00:00Z"), instant("2024-09-05T00:00:00Z"),
        ])
    }

    @Test func interval() throws {
        #expect(try CronExpression(parsing: "@every 90s").interval?.seconds == 90)
        #expect(try CronExpression(parsing: "@every 1h30m").interval?.description == "1h30m")
        #expect(try CronExpression(parsing: "0 * * * *").interval == nil)
        #expect(try CronExpression(parsing: " @daily ").description == "@daily")
    }
}

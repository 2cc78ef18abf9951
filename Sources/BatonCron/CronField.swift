/// The part of a schedule a `CronError` points at.
public enum CronField: String, Sendable, Hashable, CaseIterable {
    case second
    case minute
    case hour
    case dayOfMonth
    case month
    case dayOfWeek
    /// The duration after `@every`.
    case interval
    /// The expression as a whole: its number of fields, an unknown `@` macro.
    case expression
    /// The schedule's `time_zone`.
    case timeZone

    /// How messages name it: `hour field`, `@every interval`, `time zone`.
    public var label: String {
        switch self {
        case .second: "second field"
        case .minute: "minute field"
        case .hour: "hour field"
        case .dayOfMonth: "day-of-month field"
        case .month: "month field"
        case .dayOfWeek: "day-of-week field"
        case .interval: "@every interval"
        case .expression: "cron expression"
        case .timeZone: "time zone"
        }
    }
}

import Foundation

/// A cron expression in a time zone, and its fire times.
///
/// Fire times are whole seconds. Calendar fields match the zone's wall clock; across a
/// DST change (or any other change of the zone's offset):
///
/// - If the hour field allows every hour (`*/15 * * * *`, `0 * * * *`, `@hourly`), the
///   schedule runs on real time: it fires at each instant whose wall-clock time matches.
///   In a repeated hour it fires in both passes (01:00, 01:15, ... EDT, then 01:00, 01:15,
///   ... EST), and a skipped hour has no instants, so nothing fires in it and the cadence
///   carries on after it. An every-hour pattern is a cadence, and users expect "every 15
///   minutes" to keep going every 15 real minutes; this is also what croniter and Vixie
///   cron do.
/// - Otherwise the expression names local times, and each matching local time fires
///   exactly once. A local time repeated by fall back fires at its first occurrence only
///   (`30 1 * * *` once on the night that repeats 01:00-02:00; croniter fires it twice).
///   A local time skipped by spring forward fires at the first instant after the gap
///   (`30 2 * * *` fires at 03:00 on a day that jumps from 02:00 to 03:00; `*/20 2 * * *`
///   fires once there), so a daily job is never lost.
/// - `@every` ignores the zone (see `EveryInterval`).
///
/// The search is field-wise and gives up `searchHorizon` (10 years) after the start and
/// returns nil. Every expression that `CronExpression` accepts fires at least once in any
/// 8 years (the worst is `0 0 29 2 *` across 2100, which is not a leap year), so nil means
/// the start is near the end of what `Date` can hold, not that the schedule is over.
public struct CronSchedule: Sendable, Hashable {
    public let expression: CronExpression
    public let timeZone: TimeZone

    /// How far ahead `nextFire` searches: 10 years of 366 days.
    public static let searchHorizon: TimeInterval = TimeInterval(horizonSeconds)
    static let horizonSeconds: Int64 = 10 * 366 * 86_400

    /// The cap of the misfire policy "run all": every missed fire time gets its task, at most 100.
    public static let runAllLimit = 100

    public init(expression: CronExpression, timeZone: TimeZone) {
        self.expression = expression
        self.timeZone = timeZone
    }

    /// From a Schedule's `cron` and `time_zone` ("" = UTC).
    public init(cron: String, timeZoneName: String) throws(CronError) {
        self.init(expression: try CronExpression(parsing: cron), timeZone: try Self.timeZone(named: timeZoneName))
    }

    /// An IANA time zone name ("" = UTC), e.g. `Europe/Berlin`. Offset spellings such as
    /// `GMT+2` are refused: they are not IANA names (IANA's own are `Etc/GMT-2`).
    public static func timeZone(named name: String) throws(CronError) -> TimeZone {
        if name.isEmpty || name == "UTC" { return TimeZone(identifier: "UTC")! }
        let upper = name.uppercased()
        let offsetSpelling = ["GMT+", "GMT-", "UTC+", "UTC-"].contains { upper.hasPrefix($0) }
        guard !offsetSpelling, let zone = TimeZone(identifier: name) else {
            throw CronError(
                field: .timeZone, text: name,
                reason: "not a known IANA time zone name; write one such as Europe/Berlin or America/New_York (case matters), or leave it empty for UTC")
        }
        return zone
    }

    /// The first fire time strictly after `date`, or nil (see `searchHorizon`).
    public func nextFire(after date: Date) -> Date? {
        guard let start = Self.wholeSeconds(date) else { return nil }
        return nextFire(after: start).map { Date(timeIntervalSince1970: Double($0)) }
    }

    /// Every fire time in (`start`, `end`], earliest first, at most `limit` of them (the
    /// misfire policy "run all" uses the default, 100). Empty when `end <= start`.
    public func fires(after start: Date, through end: Date, limit: Int = CronSchedule.runAllLimit) -> [Date] {
        guard var instant = Self.wholeSeconds(start) else { return [] }
        // Fire times are whole seconds: f <= end iff f <= floor(end).
        let last = Self.wholeSeconds(end) ?? Self.limit
        var fires: [Date] = []
        while fires.count < limit, let next = nextFire(after: instant), next <= last {
            fires.append(Date(timeIntervalSince1970: Double(next)))
            instant = next
        }
        return fires
    }

    /// `floor(date)` in seconds since the epoch; nil past what the searches handle (no fire
    /// time is computed there), and dates long before 1970 are raised to that bound.
    private static func wholeSeconds(_ date: Date) -> Int64? {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard !seconds.isNaN, seconds < Double(limit) else { return nil }
        return Int64(max(-Double(limit), seconds))
    }
    private static let limit: Int64 = 1 << 50  // ~35 million years, far inside Int64 arithmetic

    /// The first fire time after `instant` (whole seconds), i.e. at or after `instant + 1`.
    func nextFire(after instant: Int64) -> Int64? {
        switch expression.rule {
        case .every(let interval):
            return interval.nextFire(after: instant)
        case .calendar(let pattern):
            return nextFire(of: pattern, atOrAfter: instant + 1)
        }
    }

    /// Walks the time line one stretch of constant UTC offset at a time: within a stretch,
    /// wall-clock time is the instant plus the offset, so the field-wise search of local
    /// times maps straight back to instants. At the start of a stretch that follows a
    /// transition, the rules above add the gap's first instant (spring forward) or skip
    /// the local times already passed (fall back).
    private func nextFire(of pattern: CalendarPattern, atOrAfter earliest: Int64) -> Int64? {
        let clock = ZoneClock(timeZone: timeZone)
        let horizon = earliest + Self.horizonSeconds
        var instant = earliest
        while instant < horizon {
            let offset = clock.offset(at: instant)
            let stretchEnd = min(clock.nextTransition(after: instant) ?? horizon, horizon)
            var lowestLocal = instant + offset
            if !pattern.firesEveryHour,
                let transition = clock.lastTransition(atOrBefore: instant, within: 2 * 86_400)
            {
                let previousOffset = clock.offset(at: transition - 1)
                if previousOffset > offset {
                    // Fall back: local times below this were shown before the transition,
                    // and fired then (first occurrence).
                    lowestLocal = max(lowestLocal, transition + previousOffset)
                } else if previousOffset < offset, instant == transition,
                    pattern.nextLocalTime(atOrAfter: transition + previousOffset, before: transition + offset) != nil
                {
                    // Spring forward: a matching local time in the gap fires as the gap ends.
                    return transition
                }
            }
            if let local = pattern.nextLocalTime(atOrAfter: lowestLocal, before: stretchEnd + offset) {
                return local - offset
            }
            instant = stretchEnd
        }
        return nil
    }
}

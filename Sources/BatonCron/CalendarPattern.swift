/// The five or six fields of a calendar expression, and the field-wise search for the next
/// local (wall-clock) time they match.
struct CalendarPattern: Sendable, Hashable {
    /// How the day-of-month and day-of-week fields combine.
    enum DayRule: Sendable, Hashable {
        case everyDay
        case dayOfMonthOnly
        case dayOfWeekOnly
        /// Both restricted: a day matches when either field matches (Vixie cron, croniter).
        case either
    }

    var seconds: FieldSet
    var minutes: FieldSet
    var hours: FieldSet
    var daysOfMonth: FieldSet
    var months: FieldSet
    var daysOfWeek: FieldSet  // 0 = Sunday
    var dayRule: DayRule

    /// Every hour of the day is allowed: the expression then fires by real time across a
    /// DST change (see `CronSchedule`).
    var firesEveryHour: Bool { hours.count == 24 }

    /// The day-of-month and day-of-week fields combine as croniter (and, but for one corner,
    /// Vixie cron) combine them: a day field is unrestricted when it is `*`, or when it
    /// names every day while the other day field is written with a `*` (as in `*/2`).
    /// Two restricted fields match a day when either does.
    static func dayRule(
        dayOfMonthText: String, daysOfMonth: FieldSet, dayOfWeekText: String, daysOfWeek: FieldSet
    ) -> DayRule {
        let dayOfMonthFree = dayOfMonthText == "*" || (daysOfMonth.count == 31 && dayOfWeekText.contains("*"))
        let dayOfWeekFree = dayOfWeekText == "*" || (daysOfWeek.count == 7 && dayOfMonthText.contains("*"))
        switch (dayOfMonthFree, dayOfWeekFree) {
        case (true, true): return .everyDay
        case (false, true): return .dayOfMonthOnly
        case (true, false): return .dayOfWeekOnly
        case (false, false): return .either
        }
    }

    /// False when no date can ever match: a day-of-month-only expression whose days do not
    /// occur in any of its months (`0 0 30 2 *`, `0 0 31 4,6,9,11 *`). February counts 29
    /// days, so `0 0 29 2 *` fires (in leap years).
    var canFire: Bool {
        guard dayRule == .dayOfMonthOnly, let firstDay = daysOfMonth.first else { return true }
        return months.values.contains { CivilDate.daysInMonth(year: 2000, month: $0) >= firstDay }
    }

    func matches(dayNumber: Int64, day: Int) -> Bool {
        switch dayRule {
        case .everyDay: true
        case .dayOfMonthOnly: daysOfMonth.contains(day)
        case .dayOfWeekOnly: daysOfWeek.contains(CivilDate.weekday(dayNumber: dayNumber))
        case .either:
            daysOfMonth.contains(day) || daysOfWeek.contains(CivilDate.weekday(dayNumber: dayNumber))
        }
    }

    /// The first local time (seconds since 1970-01-01T00:00 on the wall clock) at or after
    /// `start` that the fields match, or nil if there is none before `limit`.
    ///
    /// Field by field: a month that does not match jumps to the first day of the next
    /// matching month, a day to the next day, an hour to the next matching hour, and so on,
    /// so a search costs at most a few hundred steps per year searched, whatever the fields.
    func nextLocalTime(atOrAfter start: Int64, before limit: Int64) -> Int64? {
        var (dayNumber, secondOfDay) = start.floorDivided(by: 86_400)
        var date = CivilDate(dayNumber: dayNumber)
        var hour = Int(secondOfDay / 3_600)
        var minute = Int(secondOfDay / 60 % 60)
        var second = Int(secondOfDay % 60)
        let (limitDay, _) = limit.floorDivided(by: 86_400)

        func startOfNextDay() {
            dayNumber += 1
            date.day += 1
            if date.day > CivilDate.daysInMonth(year: date.year, month: date.month) {
                date.day = 1
                date.month += 1
                if date.month > 12 {
                    date.month = 1
                    date.year += 1
                }
            }
            (hour, minute, second) = (0, 0, 0)
        }

        while dayNumber <= limitDay {
            guard months.contains(date.month) else {
                if let month = months.first(atOrAfter: date.month + 1) {
                    date.month = month
                } else {
                    date.year += 1
                    date.month = months.first!
                }
                date.day = 1
                dayNumber = date.dayNumber
                (hour, minute, second) = (0, 0, 0)
                continue
            }
            guard matches(dayNumber: dayNumber, day: date.day), let nextHour = hours.first(atOrAfter: hour) else {
                startOfNextDay()
                continue
            }
            if nextHour != hour { (hour, minute, second) = (nextHour, 0, 0) }
            guard let nextMinute = minutes.first(atOrAfter: minute) else {
                (hour, minute, second) = (hour + 1, 0, 0)
                if hour == 24 { startOfNextDay() }
                continue
            }
            if nextMinute != minute { (minute, second) = (nextMinute, 0) }
            guard let nextSecond = seconds.first(atOrAfter: second) else {
                (minute, second) = (minute + 1, 0)
                if minute == 60 {
                    (hour, minute) = (hour + 1, 0)
                    if hour == 24 { startOfNextDay() }
                }
                continue
            }
            let local = dayNumber * 86_400 + Int64(hour * 3_600 + minute * 60 + nextSecond)
            return local < limit ? local : nil
        }
        return nil
    }
}

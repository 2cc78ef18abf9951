import CMariaDB
import Foundation

/// Converts between `Date` and `MYSQL_TIME` in UTC, keeping microseconds.
enum MySQLTime {
    static func time(from date: Date) -> MYSQL_TIME {
        let totalMicros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = totalMicros / 1_000_000
        var micros = totalMicros % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = self.civil(fromDays: days)
        var time = MYSQL_TIME()
        time.year = UInt32(year)
        time.month = UInt32(month)
        time.day = UInt32(day)
        time.hour = UInt32(secondOfDay / 3600)
        time.minute = UInt32(secondOfDay % 3600 / 60)
        time.second = UInt32(secondOfDay % 60)
        time.second_part = UInt(micros)
        time.time_type = MYSQL_TIMESTAMP_DATETIME
        return time
    }

    static func date(from time: MYSQL_TIME) -> Date {
        let days = self.days(year: Int64(time.year), month: Int64(time.month), day: Int64(time.day))
        let seconds = days * 86_400 + Int64(time.hour) * 3600 + Int64(time.minute) * 60 + Int64(time.second)
        return Date(timeIntervalSince1970: Double(seconds) + Double(time.second_part) / 1_000_000)
    }

    // Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
    private static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

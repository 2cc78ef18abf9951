import Foundation

/// Times as people read them on a terminal, and as they type them.
public enum TimeText {
    /// "12s ago", "5m ago", "3h ago", "2d ago"; "in 5m" for the future.
    public static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = now.timeIntervalSince(date)
        let text = self.span(abs(seconds))
        return seconds >= 0 ? "\(text) ago" : "in \(text)"
    }

    /// 0.4 s → "0.4s", 75 s → "1m15s", 3 h → "3h", 50 h → "2d2h".
    public static func span(_ seconds: TimeInterval) -> String {
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return total % 60 == 0 ? "\(total / 60)m" : "\(total / 60)m\(total % 60)s" }
        if total < 86_400 { return (total % 3600) / 60 == 0 ? "\(total / 3600)h" : "\(total / 3600)h\((total % 3600) / 60)m" }
        return (total % 86_400) / 3600 == 0 ? "\(total / 86_400)d" : "\(total / 86_400)d\((total % 86_400) / 3600)h"
    }

    /// UTC, to the second: "2026-12-01 18:27:17".
    public static func absolute(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// "90s", "15m", "2h", "7d", "1h30m" → seconds; nil when not a duration.
    public static func duration(_ text: String) -> TimeInterval? {
        var total: TimeInterval = 0
        var number = ""
        var sawUnit = false
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            guard let value = Double(number) else { return nil }
            switch character {
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86_400
            case "w": total += value * 604_800
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        return number.isEmpty && sawUnit ? total : nil
    }

    /// A point in time: a duration back from `now` ("2h"), an ISO 8601 date
    /// ("2026-12-01T10:00:00Z") or a day ("2026-12-01", UTC midnight).
    public static func instant(_ text: String, now: Date = Date()) -> Date? {
        if let back = self.duration(text) { return now.addingTimeInterval(-back) }
        return self.date(text)
    }

    /// An ISO 8601 date-time ("2026-12-01T10:00:00Z", fractions allowed) or a day ("2026-12-01", UTC).
    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
    }
}

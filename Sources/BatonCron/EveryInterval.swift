/// The duration of an `@every` expression: whole seconds, written with the units `h`, `m`
/// and `s` in that order, each at most once (`30s`, `5m`, `1h30m`, `2h15m10s`).
///
/// Its fire times are the multiples of the duration since the Unix epoch
/// (1970-01-01T00:00:00Z), whatever the schedule's time zone: `@every 5m` fires at :00,
/// :05, ... of every hour, `@every 7m` at every 420th second since the epoch. Aligning to a
/// fixed origin (rather than to when the schedule was stored or when a leader started)
/// makes the fire times a pure function of the expression, so every leader, before and
/// after a failover, computes the same instants and a fire time is never doubled or lost
/// when leadership moves.
public struct EveryInterval: Sendable, Hashable, CustomStringConvertible {
    /// At least 1.
    public let seconds: Int64

    /// The longest interval accepted: a calendar expression says longer periods better,
    /// and fire times then stay within `CronSchedule.searchHorizon`.
    public static let maximumSeconds: Int64 = 366 * 86_400

    /// Nil below 1 second or above `maximumSeconds`.
    public init?(seconds: Int64) {
        guard seconds >= 1, seconds <= Self.maximumSeconds else { return nil }
        self.seconds = seconds
    }

    /// Parses the text after `@every`, e.g. `1h30m`.
    public init(parsing text: String) throws(CronError) {
        func refuse(_ reason: String) -> CronError {
            CronError(field: .interval, text: text, reason: reason)
        }
        guard !text.isEmpty else {
            throw refuse("a duration is needed after @every, e.g. \"@every 30s\", \"@every 5m\" or \"@every 1h30m\"")
        }
        let units: [(Character, Int64)] = [("h", 3_600), ("m", 60), ("s", 1)]
        var nextUnit = 0  // units must come in the order h, m, s
        var total: Int64 = 0
        var digits = ""
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                guard digits.count <= 9 else { throw refuse("the number \(digits)... is too large") }
                continue
            }
            guard let index = units.firstIndex(where: { $0.0 == character }) else {
                throw refuse("\"\(character)\" is not a unit; write a whole number before h, m or s, e.g. 90s, 5m or 1h30m")
            }
            guard !digits.isEmpty else {
                throw refuse("\"\(character)\" needs a number before it, e.g. 5\(character)")
            }
            guard index >= nextUnit else {
                throw refuse("write the units in the order h, m, s, each once (e.g. 1h30m)")
            }
            total += Int64(digits)! * units[index].1
            digits = ""
            nextUnit = index + 1
        }
        guard digits.isEmpty else {
            throw refuse("\(digits) needs a unit (h, m or s), e.g. \(digits)s")
        }
        guard total >= 1 else { throw refuse("the interval must be at least 1s") }
        guard total <= Self.maximumSeconds else {
            throw refuse("the interval must be at most 8784h (366 days); use a calendar expression such as @yearly for longer periods")
        }
        self.seconds = total
    }

    /// The first multiple of the interval (counted from the epoch) strictly after `instant`.
    func nextFire(after instant: Int64) -> Int64 {
        let (quotient, _) = instant.floorDivided(by: seconds)
        return (quotient + 1) * seconds
    }

    /// `1h30m`, `45s`: the canonical spelling.
    public var description: String {
        let hours = seconds / 3_600
        let minutes = seconds % 3_600 / 60
        let remainder = seconds % 60
        var text = ""
        if hours > 0 { text += "\(hours)h" }
        if minutes > 0 { text += "\(minutes)m" }
        if remainder > 0 { text += "\(remainder)s" }
        return text
    }
}

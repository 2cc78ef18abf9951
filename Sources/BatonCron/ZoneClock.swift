import Foundation

/// A time zone's UTC offsets and transitions, in whole seconds since the epoch.
struct ZoneClock: Sendable, Hashable {
    let timeZone: TimeZone

    /// Seconds to add to an instant to get its wall-clock time.
    func offset(at instant: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant))))
    }

    /// The first instant strictly after `instant` at which the offset (or the zone's rule)
    /// changes. Foundation reports every transition here, standard-offset changes included.
    func nextTransition(after instant: Int64) -> Int64? {
        let next = timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: Double(instant)))
            .map { Int64($0.timeIntervalSince1970.rounded(.down)) }
        // Never at or before `instant`: the searches walk forward from transition to transition.
        return next.flatMap { $0 > instant ? $0 : nil }
    }

    /// The last transition in `instant - lookback ... instant`, if any. (Foundation has no
    /// "previous transition"; the few callers only care about a recent one.)
    func lastTransition(atOrBefore instant: Int64, within lookback: Int64) -> Int64? {
        var found: Int64?
        var probe = instant - lookback - 1
        while let next = nextTransition(after: probe), next <= instant {
            found = next
            probe = next
        }
        return found
    }
}

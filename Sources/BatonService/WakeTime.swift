import Synchronization

/// The latest moment a watcher was asked to look again from. Wake-ups carry
/// different freshness (a change: now; the fallback: anything in the last
/// interval); when they pile up, the newest demand must win, which a
/// one-slot stream of values would not guarantee.
final class WakeTime: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)

    func raise(to instant: ContinuousClock.Instant) {
        self.instant.withLock { current in current = max(current ?? instant, instant) }
    }

    /// The pending demand, cleared; nil when none is pending.
    func take() -> ContinuousClock.Instant? {
        self.instant.withLock { current in
            defer { current = nil }
            return current
        }
    }
}

import NIOConcurrencyHelpers

/// Places for health Watch streams.
final class WatcherSlots: Sendable {
    let limit: Int
    private let taken = NIOLockedValueBox(0)

    init(limit: Int) {
        self.limit = limit
    }

    func take() -> Bool {
        self.taken.withLockedValue { taken in
            guard taken < self.limit else { return false }
            taken += 1
            return true
        }
    }

    func give() {
        self.taken.withLockedValue { $0 -= 1 }
    }
}

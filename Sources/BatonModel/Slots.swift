import Synchronization

/// Places against a cap (connections, streams): `take` one, `give` it back.
public final class Slots: Sendable {
    public let limit: Int
    private let taken = Mutex(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Takes a place; false at the cap.
    public func take() -> Bool {
        self.taken.withLock { taken in
            guard taken < self.limit else { return false }
            taken += 1
            return true
        }
    }

    public func give() {
        self.taken.withLock { $0 -= 1 }
    }
}

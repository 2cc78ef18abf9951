import NIOConcurrencyHelpers

/// Counts open connections against a cap.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let open = NIOLockedValueBox(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a place; false at the cap.
    func admit() -> Bool {
        self.open.withLockedValue { open in
            guard open < self.limit else { return false }
            open += 1
            return true
        }
    }

    func release() {
        self.open.withLockedValue { $0 -= 1 }
    }

    var count: Int { self.open.withLockedValue { $0 } }
}

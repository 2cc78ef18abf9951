import BatonMySQL

/// What the stores throw when MySQL fails. Callers above the stores judge a
/// failure by its kind (an unreachable MySQL is UNAVAILABLE to a client, a
/// taken idempotency key is tried again), without knowing the driver: the
/// one translation from the driver's errors is `translating(_:)`.
public struct StoreError: Error, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// MySQL could not be reached, or the connection broke: the call may
        /// succeed once MySQL is back.
        case unavailable
        /// No pooled connection came free in time: this node is saturated.
        case busy
        /// A deadlock or lock wait timeout outlasted the client's own retries.
        case transient
        /// A unique key already holds the value (an idempotency key taken meanwhile).
        case duplicateKey
        /// Anything else (a server error, a statement and binds that disagree).
        case failed
    }

    public var kind: Kind
    /// What the driver said, for logs (never for clients).
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The store's error for a driver's; any other error (the store's own
    /// refusals, a cancellation) as it is.
    static func translating(_ error: any Error) -> any Error {
        guard let error = error as? MySQLError else { return error }
        let kind: Kind =
            switch error.kind {
            case .connectionFailed, .connectionLost, .closed: .unavailable
            case .busy: .busy
            case .transient: .transient
            case .duplicateKey: .duplicateKey
            case .invalidURL, .server, .misuse: .failed
            }
        return StoreError(kind, error.description)
    }

    /// True when MySQL could not be reached or no connection came free in time.
    public var isUnavailable: Bool { self.kind == .unavailable || self.kind == .busy }

    public var description: String { self.message }
}

import BatonRedis

/// Everything the broker throws. Callers above the broker judge a failure by
/// its kind (an unreachable Redis is UNAVAILABLE to a client, a refused
/// script is not), without knowing the driver: the one translation from the
/// driver's errors is `init(_:)`.
public struct BrokerError: Error, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Redis could not be reached, or the connection broke or timed out:
        /// the call may succeed once Redis is back.
        case unavailable
        /// No pooled connection came free in time: this node is saturated.
        case busy
        /// Redis answered with an error (a fenced script, a full memory…),
        /// or the client was misconfigured.
        case failed
    }

    public var kind: Kind
    /// What the driver said, for logs (never for clients).
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    init(_ error: RedisError) {
        let kind: Kind =
            switch error.kind {
            case .busy: .busy
            case .connectionFailed, .connectionLost, .timeout, .closed, .unavailable: .unavailable
            case .invalidURL, .server: .failed
            }
        self.init(kind, error.description)
    }

    /// True when Redis could not be reached or no connection came free in
    /// time: what a client may retry.
    public var isUnavailable: Bool { self.kind != .failed }

    public var description: String { self.message }
}

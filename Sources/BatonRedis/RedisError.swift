/// Everything the Redis client throws.
public struct RedisError: Error, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The URL could not be parsed.
        case invalidURL
        /// No connection could be made (refused, unreachable, AUTH or SELECT failed).
        case connectionFailed
        /// The connection broke during the call; the next call reconnects.
        case connectionLost
        /// The server did not answer within the command timeout.
        case timeout
        /// The server answered with an error reply.
        case server
        /// The client is shut down.
        case closed
        /// No pooled connection came free within the acquire timeout.
        case busy
        /// The server is up but cannot serve for now: a Redis Cluster during
        /// a failover (CLUSTERDOWN) or a slot migration (TRYAGAIN). The call
        /// did nothing; retry after a pause.
        case unavailable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// True when Redis could not be reached: callers map it to UNAVAILABLE.
    public var isUnavailable: Bool {
        switch self.kind {
        case .connectionFailed, .connectionLost, .timeout, .closed, .busy, .unavailable: true
        case .invalidURL, .server: false
        }
    }

    public var description: String { "redis \(self.kind): \(self.message)" }
}

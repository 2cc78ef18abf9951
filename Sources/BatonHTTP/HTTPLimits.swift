/// What one client may hold of the HTTP endpoints. Each value has a
/// `baton-node` flag.
public struct HTTPLimits: Sendable {
    /// Open connections at once; more are closed on accept.
    public var maxConnections = 64
    /// Time to send a request's headers: from connect for the first request,
    /// from the request's first byte on a kept-alive connection.
    public var headerTimeout: Duration = .seconds(10)
    /// Time to send a request's body once its headers are in.
    public var bodyTimeout: Duration = .seconds(10)
    /// Time a kept-alive connection may wait for its next request.
    public var idleTimeout: Duration = .seconds(30)

    public init() {}
}

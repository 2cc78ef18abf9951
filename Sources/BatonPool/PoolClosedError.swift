/// Thrown by a pool that has been shut down.
public struct PoolClosedError: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "connection pool is shut down" }
}

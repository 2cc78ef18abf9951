/// Thrown when no connection of the pool came free within its acquire
/// timeout: the node is saturated, and the caller is better answered at once
/// (UNAVAILABLE, retry) than queued behind everyone else.
public struct PoolBusyError: Error, CustomStringConvertible {
    public var waited: Duration

    public init(waited: Duration) {
        self.waited = waited
    }

    public var description: String { "no connection came free within \(self.waited)" }
}

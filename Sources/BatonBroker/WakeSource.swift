import BatonRedis

/// A leader loop's wake-ups: `RedisBroker.withWakeSource` hands one out that
/// blocks on a wake list on a Redis connection of its own (a blocked read
/// never holds a pooled connection) and closes the connection after.
public struct WakeSource: Sendable {
    /// What the loop waits for.
    public enum Work: Sendable {
        /// Something may be dispatched (a task queued, a slot freed).
        case dispatch
        /// A delayed task was added.
        case delayed
    }

    private let waiting: @Sendable (Duration) async throws(BrokerError) -> Void

    /// A source that waits as `wait` does (an in-memory broker's).
    public init(wait: @escaping @Sendable (Duration) async throws(BrokerError) -> Void) {
        self.waiting = wait
    }

    init(key: String, connection: RedisBlockingConnection) {
        self.init { timeout throws(BrokerError) in try await connection.waitOnWakeList(key, timeout: timeout) }
    }

    /// Blocks until woken, or `timeout` passes.
    public func wait(timeout: Duration) async throws(BrokerError) {
        try await self.waiting(timeout)
    }
}

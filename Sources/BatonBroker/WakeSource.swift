import BatonRedis

/// A leader loop's wake-up list, on a Redis connection of its own (a blocked
/// read never holds a pooled connection). `RedisBroker.withWakeSource`
/// hands it out and closes the connection after.
public struct WakeSource: Sendable {
    /// What the loop waits for.
    public enum Work: Sendable {
        /// Something may be dispatched (a task queued, a slot freed).
        case dispatch
        /// A delayed task was added.
        case delayed
    }

    private let key: String
    private let connection: RedisBlockingConnection

    init(key: String, connection: RedisBlockingConnection) {
        self.key = key
        self.connection = connection
    }

    /// Blocks until woken, or `timeout` passes.
    public func wait(timeout: Duration) async throws(BrokerError) {
        try await self.connection.waitOnWakeList(self.key, timeout: timeout)
    }
}

import BatonRedis

/// What one worker loop waits on, on a Redis connection of its own: its
/// blocking reads never hold a pooled connection, and its takes never wait
/// for the pool. `RedisBroker.withInbox` hands it out and closes the
/// connection after, so no module above the broker holds a Redis connection.
public struct WorkerInbox: Sendable {
    public let workerID: String
    private let broker: RedisBroker
    private let connection: RedisBlockingConnection

    init(workerID: String, broker: RedisBroker, connection: RedisBlockingConnection) {
        self.workerID = workerID
        self.broker = broker
        self.connection = connection
    }

    /// Moves up to `count` entries from the worker's queues to its in-flight
    /// list, high priority first; only high-priority ones when `highOnly`.
    public func take(count: Int, highOnly: Bool = false) async throws(BrokerError) -> [QueueEntry] {
        let reply = try await self.connection.call(self.broker.takeCommand(workerID: self.workerID, count: count, highOnly: highOnly))
        return RedisBroker.entries(reply)
    }

    /// Blocks until the dispatcher rings this worker's bell (its high lane's
    /// bell when `high`), or `timeout` passes.
    public func waitForWork(high: Bool = false, timeout: Duration) async throws(BrokerError) {
        let keys = self.broker.keys
        try await self.connection.waitOnWakeList(high ? keys.workerHighBell(self.workerID) : keys.workerBell(self.workerID), timeout: timeout)
    }

    /// Attempts cancelled while this worker may run them: blocks up to
    /// `timeout` for the first, then takes what else waits (on the pool).
    public func cancels(timeout: Duration) async throws(BrokerError) -> [CancelNotice] {
        let key = self.broker.keys.workerCancels(self.workerID)
        let first = try await self.connection.call(RedisCommand("BLPOP", key, String(Double(timeout.wholeMilliseconds) / 1000)), blockingFor: timeout)
        guard let member = first.array?.last?.string else { return [] }
        let more = try await self.broker.redis.send("LPOP", key, 1000).array?.compactMap(\.string) ?? []
        return ([member] + more).map(CancelNotice.init(member:))
    }
}

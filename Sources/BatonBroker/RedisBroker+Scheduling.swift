import BatonModel
import BatonRedis

/// The leader's loops' Redis side: dispatch rounds, the wake lists they
/// sleep on, and what reconciliation asks of Redis.
extension RedisBroker {
    /// One fenced dispatch round (`BrokerScripts.dispatch`): moves up to
    /// `batch` entries from the priority queues to live workers' queues.
    /// `strategy` is `least_task`, `round_robin` or `random`; weights (0, 0)
    /// mean strict priority; `highReserve` is the percent of each worker's
    /// capacity normal work leaves free. Returns each moved entry with its worker.
    public func dispatch(
        fence lockValue: String, batch: Int, heartbeatTTL: Duration, strategy: String, weights: (high: Int, normal: Int),
        lookAhead: Int, highReserve: Int
    ) async throws(RedisError) -> [(entry: QueueEntry, workerID: String)] {
        let reply = try await self.redis.run(
            BrokerScripts.dispatch,
            keys: [
                self.keys.leader, self.keys.highQueue, self.keys.normalQueue, self.keys.workers, self.keys.limits, self.keys.inUse,
                self.keys.scheduledTotal, self.keys.dispatchCursor, self.keys.tombstones,
            ],
            arguments: [lockValue, batch, heartbeatTTL.wholeMilliseconds, strategy, self.keys.namespace, weights.high, weights.normal, lookAhead, highReserve]
        )
        let flat = (reply.array ?? []).compactMap(\.string)
        var moved: [(entry: QueueEntry, workerID: String)] = []
        moved.reserveCapacity(flat.count / 2)
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            if let entry = QueueEntry(member: flat[index]) { moved.append((entry, flat[index + 1])) }
        }
        return moved
    }

    /// Blocks on `connection` until something may be dispatched (a task
    /// queued, a slot freed), or `timeout` passes.
    public func waitForDispatchWork(on connection: RedisBlockingConnection, timeout: Duration) async throws(RedisError) {
        try await self.block(on: self.keys.wake, connection, timeout)
    }

    /// Blocks on `connection` until a delayed task is added, or `timeout` passes.
    public func waitForDelayedWork(on connection: RedisBlockingConnection, timeout: Duration) async throws(RedisError) {
        try await self.block(on: self.keys.delayedWake, connection, timeout)
    }

    /// Whether Redis may have lost its data since the last full restore:
    /// true until a restore has marked its end (a restore cut short runs
    /// again), and for a Redis that has never seen one.
    public func restoreDue() async throws(RedisError) -> Bool {
        var state = try await self.redis.send("GET", self.keys.sentinel).string
        if state == nil, try await self.redis.send("SET", self.keys.sentinel, "restoring", "NX") == .status("OK") {
            state = "restoring"
        }
        return state == "restoring"
    }

    /// The entries the delayed set does not hold, in one round trip.
    public func missingFromDelayed(_ entries: [QueueEntry]) async throws(RedisError) -> [QueueEntry] {
        guard !entries.isEmpty else { return [] }
        let scores = try await self.redis.pipeline(entries.map { RedisCommand("ZSCORE", self.keys.delayed, $0.member) })
        return zip(entries, scores).filter { $0.1.isNull }.map(\.0)
    }

    /// The cluster's name (its keys' namespace), which MySQL's records of it carry.
    public var cluster: String { self.keys.namespace }

    /// BLPOP on a wake list: timeout 0 would block for ever, so it is at least a millisecond.
    func block(on key: String, _ connection: RedisBlockingConnection, _ timeout: Duration) async throws(RedisError) {
        let wait = max(timeout, .milliseconds(1))
        _ = try await connection.send(RedisCommand("BLPOP", key, String(Double(wait.wholeMilliseconds) / 1000)), blockingFor: wait)
    }
}

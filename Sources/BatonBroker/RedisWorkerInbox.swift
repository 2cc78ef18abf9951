import BatonRedis

/// A worker's inbox on a Redis connection of its own: its blocking reads
/// never hold a pooled connection, and its takes never wait for the pool.
/// `RedisBroker.withInbox` hands it out and closes the connection after, so
/// no module above the broker holds a Redis connection.
struct RedisWorkerInbox: WorkerInbox {
    let workerID: String
    private let broker: RedisBroker
    private let connection: RedisBlockingConnection

    init(workerID: String, broker: RedisBroker, connection: RedisBlockingConnection) {
        self.workerID = workerID
        self.broker = broker
        self.connection = connection
    }

    func take(count: Int, highOnly: Bool) async throws(BrokerError) -> [QueueEntry] {
        let reply = try await self.connection.call(self.broker.takeCommand(workerID: self.workerID, count: count, highOnly: highOnly))
        return RedisBroker.entries(reply)
    }

    /// BLPOP on the bell the dispatcher pushes to.
    func waitForWork(high: Bool, timeout: Duration) async throws(BrokerError) {
        let keys = self.broker.keys
        try await self.connection.waitOnWakeList(high ? keys.workerHighBell(self.workerID) : keys.workerBell(self.workerID), timeout: timeout)
    }

    /// BLPOP for the first on this connection, then the rest on the pool.
    func cancels(timeout: Duration) async throws(BrokerError) -> [CancelNotice] {
        let key = self.broker.keys.workerCancels(self.workerID)
        let first = try await self.connection.call(RedisCommand("BLPOP", key, String(Double(timeout.wholeMilliseconds) / 1000)), blockingFor: timeout)
        guard let member = first.array?.last?.string else { return [] }
        let more = try await self.broker.redis.send("LPOP", key, 1000).array?.compactMap(\.string) ?? []
        return ([member] + more).map(CancelNotice.init(member:))
    }
}

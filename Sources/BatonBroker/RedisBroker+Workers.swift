import BatonRedis

/// What a worker asks of Redis: its registration (liveness is judged inside
/// Redis, by its clock), its queues and in-flight list, and the ways its
/// work goes back.
extension RedisBroker: WorkerBroker {
    /// Makes `workerID` its node's current worker. A previous incarnation (a
    /// crashed process restarted at once) is declared dead on the spot and
    /// left for the leader to reclaim. Returns that incarnation's id.
    @discardableResult
    public func registerWorker(nodeID: String, workerID: String) async throws(BrokerError) -> String? {
        try await self.redis.run(
            BrokerScripts.registerWorker,
            keys: [self.keys.nodeWorker(nodeID), self.keys.workers, self.keys.retiredWorkers, self.keys.reclaimWorkers],
            arguments: [workerID]
        ).string
    }

    /// Refreshes the registration with what `registration` states. False:
    /// this worker was declared dead (cut off longer than the TTL) and must not carry on.
    public func heartbeat(workerID: String, ttl: Duration, registration: WorkerRegistration) async throws(BrokerError) -> Bool {
        try await self.control.run(
            BrokerScripts.heartbeat,
            keys: [self.keys.workers, self.keys.worker(workerID), self.keys.retiredWorkers],
            arguments: [workerID, String(ttl.wholeMilliseconds)] + registration.fields
        ).int == 1
    }

    /// Leaves the registry if the worker holds nothing; false when it still
    /// does (the leader then recovers it once its heartbeat expires).
    @discardableResult
    public func deregisterWorker(nodeID: String, workerID: String) async throws(BrokerError) -> Bool {
        try await self.redis.run(
            BrokerScripts.deregisterWorker,
            keys: [
                self.keys.workers, self.keys.worker(workerID), self.keys.workerQueue(workerID), self.keys.workerInFlight(workerID),
                self.keys.nodeWorker(nodeID), self.keys.workerHighQueue(workerID), self.keys.workerBell(workerID),
                self.keys.workerCancels(workerID), self.keys.workerHighBell(workerID),
            ],
            arguments: [workerID]
        ).int == 1
    }

    /// A worker's entries it never took (it stops, or every slot is busy
    /// with long calls) back to the front of their queues. Returns how many.
    /// See docs/architecture.md, "Putting work back".
    @discardableResult
    public func handBackQueued(workerID: String) async throws(BrokerError) -> Int {
        Int(try await self.redis.run(
            BrokerScripts.handBackQueued,
            keys: [self.keys.workerQueue(workerID), self.keys.workerHighQueue(workerID), self.keys.highQueue, self.keys.normalQueue,
                   self.keys.inUse, self.keys.wake]
        ).int ?? 0)
    }

    /// Moves up to `count` entries from a worker's queues to its in-flight
    /// list, high priority first; only high-priority ones when `highOnly`.
    /// On a pooled connection (an inbox's `take` takes on its own).
    public func take(workerID: String, count: Int, highOnly: Bool = false) async throws(BrokerError) -> [QueueEntry] {
        Self.entries(try await self.redis.send(self.takeCommand(workerID: workerID, count: count, highOnly: highOnly)))
    }

    /// Runs `body` with an inbox of `workerID` on a Redis connection of its
    /// own, closed when `body` returns or throws.
    public func withInbox<T>(workerID: String, _ body: (any WorkerInbox) async throws -> T) async throws -> T {
        try await self.redis.withBlockingConnection { connection in
            try await body(RedisWorkerInbox(workerID: workerID, broker: self, connection: connection))
        }
    }

    func takeCommand(workerID: String, count: Int, highOnly: Bool) -> RedisCommand {
        let queues = highOnly ? [self.keys.workerHighQueue(workerID)] : [self.keys.workerHighQueue(workerID), self.keys.workerQueue(workerID)]
        return RedisCommand(
            script: BrokerScripts.take, keys: queues + [self.keys.workerInFlight(workerID), self.keys.inUse, self.keys.claims],
            arguments: [String(count), workerID]
        )
    }

    static func entries(_ reply: RESPValue) -> [QueueEntry] {
        reply.array?.compactMap(\.string).compactMap { QueueEntry(member: $0) } ?? []
    }

    /// Sets how many entries the dispatcher may let a registered worker hold
    /// (no effect once its registration expired or was removed).
    public func publishWindow(workerID: String, window: Int) async throws(BrokerError) {
        try await self.redis.run(BrokerScripts.publishWindow, keys: [self.keys.worker(workerID)], arguments: [window])
    }

    /// Marks a worker as draining: the dispatcher gives it nothing more.
    public func markDraining(workerID: String) async throws(BrokerError) {
        try await self.redis.send("HSET", self.keys.worker(workerID), "draining", "1")
    }
}

import BatonRedis

/// Worker registration and the recovery of dead workers. Liveness is judged
/// inside Redis, by its clock; every leader step is fenced by the lock value.
extension RedisBroker {
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

    /// A worker's never-started entries (it stops, or every slot is busy
    /// with long calls) back to the front of their queues. Returns how many.
    @discardableResult
    public func handBackQueue(workerID: String) async throws(BrokerError) -> Int {
        Int(try await self.redis.run(
            BrokerScripts.handBackQueue,
            keys: [self.keys.workerQueue(workerID), self.keys.workerHighQueue(workerID), self.keys.highQueue, self.keys.normalQueue,
                   self.keys.inUse, self.keys.wake]
        ).int ?? 0)
    }

    /// Moves up to `count` entries from a worker's queues to its in-flight
    /// list, high priority first; only high-priority ones when `highOnly`.
    /// On a pooled connection (`WorkerInbox.take` takes on its own).
    public func take(workerID: String, count: Int, highOnly: Bool = false) async throws(BrokerError) -> [QueueEntry] {
        Self.entries(try await self.redis.send(self.takeCommand(workerID: workerID, count: count, highOnly: highOnly)))
    }

    /// Runs `body` with an inbox of `workerID` on a Redis connection of its
    /// own, closed when `body` returns or throws.
    public func withInbox<T>(workerID: String, _ body: (WorkerInbox) async throws -> T) async throws -> T {
        try await self.redis.withBlockingConnection { connection in
            try await body(WorkerInbox(workerID: workerID, broker: self, connection: connection))
        }
    }

    func takeCommand(workerID: String, count: Int, highOnly: Bool) -> RedisCommand {
        let queues = highOnly ? [self.keys.workerHighQueue(workerID)] : [self.keys.workerHighQueue(workerID), self.keys.workerQueue(workerID)]
        return RedisCommand(script: BrokerScripts.take, keys: queues + [self.keys.workerInFlight(workerID)], arguments: [count])
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

    // MARK: recovery (leader)

    /// Registered workers whose heartbeat is older than `ttl` by Redis's clock.
    public func expiredWorkers(ttl: Duration) async throws(BrokerError) -> [String] {
        try await self.redis.run(BrokerScripts.expiredWorkers, keys: [self.keys.workers], arguments: [ttl.wholeMilliseconds])
            .array?.compactMap(\.string) ?? []
    }

    /// Declares `workerID` dead unless it beat within `ttl` (checked
    /// atomically). True when it was declared dead.
    public func declareDead(workerID: String, ttl: Duration, fence: String) async throws(BrokerError) -> Bool {
        try await self.redis.run(
            BrokerScripts.declareDead,
            keys: [self.keys.leader, self.keys.workers, self.keys.retiredWorkers, self.keys.reclaimWorkers],
            arguments: [fence, workerID, ttl.wholeMilliseconds]
        ).int == 1
    }

    /// Workers declared dead whose tasks are not back yet.
    public func workersToReclaim() async throws(BrokerError) -> [String] {
        try await self.redis.send("SMEMBERS", self.keys.reclaimWorkers).array?.compactMap(\.string).sorted() ?? []
    }

    /// What a worker has taken from its queue (started, or about to be).
    public func inFlight(workerID: String) async throws(BrokerError) -> [QueueEntry] {
        Self.entries(try await self.redis.send("LRANGE", self.keys.workerInFlight(workerID), 0, -1))
    }

    /// Puts everything a worker declared dead holds back on the queues.
    /// Returns how many entries went back, or nil when it was done already.
    @discardableResult
    public func reclaim(workerID: String, fence: String) async throws(BrokerError) -> Int? {
        let moved = try await self.redis.run(
            BrokerScripts.reclaimWorker,
            keys: [self.keys.leader, self.keys.reclaimWorkers, self.keys.highQueue, self.keys.normalQueue, self.keys.inUse, self.keys.wake],
            arguments: [fence, self.keys.namespace, workerID]
        ).int ?? -1
        return moved < 0 ? nil : Int(moved)
    }

    /// Puts back on their queues the entries no Redis structure holds.
    public func requeueMissing(_ entries: [QueueEntry], fence: String) async throws(BrokerError) -> Int {
        guard !entries.isEmpty else { return 0 }
        return Int(
            try await self.redis.run(
                BrokerScripts.requeueMissing,
                keys: [self.keys.leader, self.keys.highQueue, self.keys.normalQueue, self.keys.delayed, self.keys.workers, self.keys.wake],
                arguments: [fence, self.keys.namespace] + entries.map(\.member)
            ).int ?? 0
        )
    }

    /// Starts (or resumes) a restore after Redis lost its data.
    public func beginRestore(fence: String) async throws(BrokerError) {
        try await self.redis.run(
            BrokerScripts.beginRestore,
            keys: [self.keys.leader, self.keys.restoreHeld, self.keys.highQueue, self.keys.normalQueue, self.keys.delayed, self.keys.workers],
            arguments: [fence, self.keys.namespace]
        )
    }

    /// Puts back the entries of one restore page that Redis does not hold.
    public func restorePage(_ entries: [QueueEntry], fence: String) async throws(BrokerError) -> Int {
        guard !entries.isEmpty else { return 0 }
        return Int(
            try await self.redis.run(
                BrokerScripts.restorePage,
                keys: [self.keys.leader, self.keys.restoreHeld, self.keys.highQueue, self.keys.normalQueue, self.keys.wake],
                arguments: [fence] + entries.map(\.member)
            ).int ?? 0
        )
    }

    /// Marks the restore complete (the sentinel) and drops its held set
    /// (UNLINK: freeing a million members would stall Redis for a while).
    public func endRestore() async throws(BrokerError) {
        try await self.redis.pipelineChecked([
            RedisCommand("SET", self.keys.sentinel, "1"), RedisCommand("UNLINK", self.keys.restoreHeld),
        ])
    }

    /// Moves due entries of the delayed set to their queues. Returns how many
    /// moved, the earliest due time left and Redis's time (both ms).
    public func promoteDue(limit: Int, fence: String) async throws(BrokerError) -> (moved: Int, nextDue: Int64?, now: Int64) {
        let values = try await self.redis.run(
            BrokerScripts.promoteDue,
            keys: [self.keys.leader, self.keys.delayed, self.keys.highQueue, self.keys.normalQueue, self.keys.wake],
            arguments: [fence, limit]
        ).array ?? []
        let next = values.count > 1 ? values[1].int ?? -1 : -1
        let now = values.count > 2 ? values[2].int ?? 0 : 0
        return (Int(values.first?.int ?? 0), next >= 0 ? next : nil, now)
    }
}

import BatonRedis

/// The leader's recovery of dead workers and of what Redis lost. Liveness is
/// judged inside Redis, by its clock; every step is fenced by the lock value.
extension RedisBroker {
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

    /// Puts everything a worker declared dead holds (queues and in-flight
    /// list) back at the front of the queues. Returns how many entries went
    /// back, or nil when it was done already.
    @discardableResult
    public func reclaimDeadWorker(workerID: String, fence: String) async throws(BrokerError) -> Int? {
        let moved = try await self.redis.run(
            BrokerScripts.reclaimWorker,
            keys: [
                self.keys.leader, self.keys.reclaimWorkers, self.keys.highQueue, self.keys.normalQueue, self.keys.inUse, self.keys.wake,
                self.keys.workerQueue(workerID), self.keys.workerHighQueue(workerID), self.keys.workerInFlight(workerID),
                self.keys.workerBell(workerID), self.keys.workerHighBell(workerID), self.keys.workerCancels(workerID), self.keys.worker(workerID),
                self.keys.claims,
            ],
            arguments: [fence, workerID]
        ).int ?? -1
        return moved < 0 ? nil : Int(moved)
    }

    /// Puts back on their queues the entries no Redis structure holds.
    public func requeueMissing(_ entries: [QueueEntry], fence: String) async throws(BrokerError) -> Int {
        guard !entries.isEmpty else { return 0 }
        return Int(
            try await self.runCovered(
                BrokerScripts.requeueMissing,
                keys: [
                    self.keys.leader, self.keys.highQueue, self.keys.normalQueue, self.keys.delayed, self.keys.workers, self.keys.wake,
                    self.keys.parkedTypes,
                ],
                arguments: [fence], workerKeys: .lists, trailing: entries.map(\.member)
            ).int ?? 0
        )
    }

    /// Starts (or resumes) a restore after Redis lost its data.
    public func beginRestore(fence: String) async throws(BrokerError) {
        _ = try await self.runCovered(
            BrokerScripts.beginRestore,
            keys: [
                self.keys.leader, self.keys.restoreHeld, self.keys.highQueue, self.keys.normalQueue, self.keys.delayed, self.keys.workers,
                self.keys.parkedTypes,
            ],
            arguments: [fence], workerKeys: .lists
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
}

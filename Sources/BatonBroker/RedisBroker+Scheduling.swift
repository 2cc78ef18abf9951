import BatonModel
import BatonRedis

/// The leader's loops' Redis side: dispatch rounds, the wake lists they
/// sleep on, and what reconciliation asks of Redis.
extension RedisBroker: SchedulingBroker {
    /// One fenced dispatch round (`BrokerScripts.dispatch`): moves up to
    /// `batch` entries from the priority queues to live workers' queues.
    /// `strategy` is `least_task`, `round_robin` or `random`; weights (0, 0)
    /// mean strict priority; `highReserve` is the percent of each worker's
    /// capacity normal work leaves free. Returns each moved entry with its worker.
    ///
    /// The workers and parked lists come from the key roster (`KeyRoster`):
    /// a round that met a live worker the roster lacked (one registered
    /// since: the round moved nothing) or a type to park whose list it lacked
    /// (a type parked for the first time) runs again at once with the roster
    /// corrected, for what is left of the batch, so neither waits for the
    /// next wake-up: at most three runs (workers, then types) after a
    /// change, one script call a round otherwise.
    public func dispatch(
        fence lockValue: String, batch: Int, heartbeatTTL: Duration, strategy: String, weights: (high: Int, normal: Int),
        lookAhead: Int, highReserve: Int
    ) async throws(BrokerError) -> [(entry: QueueEntry, workerID: String)] {
        var moved: [(entry: QueueEntry, workerID: String)] = []
        for _ in 0..<3 {
            let (result, again) = try await self.runWithRoster(
                BrokerScripts.dispatch,
                keys: [
                    self.keys.leader, self.keys.highQueue, self.keys.normalQueue, self.keys.workers, self.keys.limits, self.keys.inUse,
                    self.keys.scheduledTotal, self.keys.dispatchCursor, self.keys.tombstones, self.keys.parkedTypes, self.keys.rates,
                ],
                arguments: [
                    lockValue, batch - moved.count, heartbeatTTL.wholeMilliseconds, strategy, weights.high, weights.normal, lookAhead, highReserve,
                ],
                workerKeys: .dispatch
            )
            let flat = (result.array ?? []).compactMap(\.string)
            moved.reserveCapacity(moved.count + flat.count / 2)
            for index in stride(from: 0, to: flat.count - 1, by: 2) {
                if let entry = QueueEntry(member: flat[index]) { moved.append((entry, flat[index + 1])) }
            }
            if !again || moved.count >= batch { break }
        }
        return moved
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

    /// Runs `body` with a wake source for `work` on a Redis connection of
    /// its own, closed when `body` returns or throws.
    public func withWakeSource<T>(for work: WakeSource.Work, _ body: (WakeSource) async throws -> T) async throws -> T {
        let key = switch work {
        case .dispatch: self.keys.wake
        case .delayed: self.keys.delayedWake
        }
        return try await self.redis.withBlockingConnection { connection in try await body(WakeSource(key: key, connection: connection)) }
    }

    /// Whether Redis may have lost its data since the last full restore:
    /// true until a restore has marked its end (a restore cut short runs
    /// again), and for a Redis that has never seen one.
    public func restoreDue() async throws(BrokerError) -> Bool {
        var state = try await self.redis.send("GET", self.keys.sentinel).string
        if state == nil, try await self.redis.send("SET", self.keys.sentinel, "restoring", "NX") == .status("OK") {
            state = "restoring"
        }
        return state == "restoring"
    }

    /// The entries the delayed set does not hold, in one round trip.
    public func missingFromDelayed(_ entries: [QueueEntry]) async throws(BrokerError) -> [QueueEntry] {
        guard !entries.isEmpty else { return [] }
        let scores = try await self.redis.pipeline(entries.map { RedisCommand("ZSCORE", self.keys.delayed, $0.member) })
        return zip(entries, scores).filter { $0.1.isNull }.map(\.0)
    }

    /// The cluster's name (its keys' namespace), which MySQL's records of it carry.
    public var cluster: String { self.keys.namespace }
}

import BatonModel
import BatonRedis

/// Reads the broker's state in Redis by what it means, for tests and tools:
/// how many entries wait where, which, a worker's record, the leader's lock.
/// Nothing above the broker spells a key or a Redis command; this is where
/// a test looks (and, in `BrokerInspector+Faults`, where it disturbs).
/// Not for the hot path: one round trip a call, no batching.
public struct BrokerInspector: Sendable {
    let redis: BrokerRedis
    public let keys: RedisKeys

    public init(_ broker: RedisBroker) {
        self.redis = broker.redis
        self.keys = broker.keys
    }

    /// How many entries `place` holds.
    public func count(_ place: BrokerPlace) async throws(BrokerError) -> Int {
        let command = switch place.shape {
        case .list: "LLEN"
        case .sortedSet: "ZCARD"
        case .set: "SCARD"
        case .stream: "XLEN"
        }
        return Int(try await self.redis.send(command, place.key(self.keys)).int ?? 0)
    }

    /// The members of `place`, in its order (a list head first, a sorted
    /// set by score). The event stream has `events()` instead.
    public func members(_ place: BrokerPlace) async throws(BrokerError) -> [String] {
        let key = place.key(self.keys)
        let reply = switch place.shape {
        case .list: try await self.redis.send("LRANGE", key, 0, -1)
        case .sortedSet: try await self.redis.send("ZRANGE", key, 0, -1)
        case .set: try await self.redis.send("SMEMBERS", key)
        case .stream: try await self.redis.send("XRANGE", key, "-", "+")
        }
        return reply.array?.compactMap(\.string) ?? []
    }

    /// The queue entries `place` holds (what is not an entry is skipped).
    public func entries(_ place: BrokerPlace) async throws(BrokerError) -> [QueueEntry] {
        try await self.members(place).compactMap { QueueEntry(member: $0) }
    }

    /// What waits on a worker, in the order it takes it: its high queue, then its queue.
    public func waitingOn(worker: String) async throws(BrokerError) -> [QueueEntry] {
        try await self.entries(.workerQueue(worker, .high)) + self.entries(.workerQueue(worker, .normal))
    }

    /// A sorted set's score for `member` (milliseconds for every sorted set
    /// the broker keeps), nil when the member is absent.
    public func score(of member: String, in place: BrokerPlace) async throws(BrokerError) -> Int64? {
        let reply = try await self.redis.send("ZSCORE", place.key(self.keys), member)
        return reply.string.flatMap { Double($0) }.map { Int64($0) }
    }

    /// Each event's fields in order (`k`, kind, …), oldest first.
    public func events() async throws(BrokerError) -> [[String]] {
        let entries = try await self.redis.send("XRANGE", self.keys.events, "-", "+").array ?? []
        return entries.map { $0.array?.last?.array?.compactMap(\.string) ?? [] }
    }

    /// Attempts of `taskType` the dispatcher counts as holding a slot.
    public func inUse(_ taskType: String) async throws(BrokerError) -> Int {
        Int(try await self.redis.send("HGET", self.keys.inUse, taskType).int ?? 0)
    }

    /// The limits the dispatcher reads for `taskType` (its encoded field), nil when none.
    public func limits(_ taskType: String) async throws(BrokerError) -> String? {
        try await self.redis.send("HGET", self.keys.limits, taskType).string
    }

    /// A rate-limited type's starts as the dispatcher counts them:
    /// `<unix second>:<count>` of the last second it started one, nil before.
    public func startsInSecond(_ taskType: String) async throws(BrokerError) -> String? {
        try await self.redis.send("HGET", self.keys.rates, taskType).string
    }

    /// One field of a worker's record (its heartbeat's hash), nil when absent.
    public func workerField(_ worker: String, _ field: String) async throws(BrokerError) -> String? {
        try await self.redis.send("HGET", self.keys.worker(worker), field).string
    }

    /// Whether a worker's record exists (it expires with its heartbeat).
    public func hasWorkerRecord(_ worker: String) async throws(BrokerError) -> Bool {
        try await self.redis.send("EXISTS", self.keys.worker(worker)).int == 1
    }

    /// The leader lock's value (`<node_id>|<token>`), nil when no one leads.
    public func leaderLock() async throws(BrokerError) -> String? {
        try await self.redis.send("GET", self.keys.leader).string
    }

    /// The last leadership epoch handed out, nil before the first.
    public func leaderEpoch() async throws(BrokerError) -> Int64? {
        try await self.redis.send("GET", self.keys.leaderEpoch).string.flatMap { Int64($0) }
    }

    /// The restore sentinel: nil after a loss of Redis's data, "restoring"
    /// while the reconciler rebuilds, anything else once it has.
    public func restoreSentinel() async throws(BrokerError) -> String? {
        try await self.redis.send("GET", self.keys.sentinel).string
    }

    /// Whether a restore holds the dispatcher back.
    public func restoreIsHeld() async throws(BrokerError) -> Bool {
        try await self.redis.send("EXISTS", self.keys.restoreHeld).int == 1
    }

    /// Redis's clock, in seconds since 1970 (the cluster's clock).
    public func serverTime() async throws(BrokerError) -> Double {
        let parts = try await self.redis.send("TIME").array?.compactMap(\.string).compactMap(Double.init) ?? []
        guard parts.count == 2 else { throw BrokerError(.failed, "TIME answered \(parts)") }
        return parts[0] + parts[1] / 1e6
    }
}

import BatonModel
import BatonRedis

/// What a crash, a lost write, another node or an operator's slip leaves in
/// Redis, made on purpose: the tests' faults, by what they mean. Each is one
/// command the broker itself never sends alone (its own changes are scripts).
extension BrokerInspector {
    /// Appends `members` at the tail of a list place, or adds them to a set.
    /// (A sorted set needs a score: `add(_:score:to:)`.)
    public func push(_ members: [String], onto place: BrokerPlace) async throws(BrokerError) {
        guard !members.isEmpty else { return }
        let command = place.shape == .set ? "SADD" : "RPUSH"
        try await self.redis.send(RedisCommand(command, [place.key(self.keys)] + members))
    }

    /// Adds `member` to a sorted-set place at `score` (milliseconds).
    public func add(_ member: String, score: Int64, to place: BrokerPlace) async throws(BrokerError) {
        try await self.redis.send("ZADD", place.key(self.keys), score, member)
    }

    /// Moves the head of one list place to the tail of another, as a
    /// worker's take does without its bookkeeping; the moved member, nil when
    /// the source was empty.
    @discardableResult
    public func moveHead(from source: BrokerPlace, to destination: BrokerPlace) async throws(BrokerError) -> String? {
        try await self.redis.send("LMOVE", source.key(self.keys), destination.key(self.keys), "LEFT", "RIGHT").string
    }

    /// Removes every copy of `member` from a place.
    public func remove(_ member: String, from place: BrokerPlace) async throws(BrokerError) {
        let key = place.key(self.keys)
        switch place.shape {
        case .list: try await self.redis.send("LREM", key, 0, member)
        case .sortedSet: try await self.redis.send("ZREM", key, member)
        case .set: try await self.redis.send("SREM", key, member)
        case .stream: try await self.redis.send("XDEL", key, member)
        }
    }

    /// Deletes places whole (a write Redis lost).
    public func clear(_ places: BrokerPlace...) async throws(BrokerError) {
        try await self.redis.send(RedisCommand("DEL", places.map { $0.key(self.keys) }))
    }

    /// Changes the slots `taskType` counts as held by `delta`.
    public func addInUse(_ taskType: String, _ delta: Int) async throws(BrokerError) {
        try await self.redis.send("HINCRBY", self.keys.inUse, taskType, delta)
    }

    /// Writes a worker's record as a heartbeat would, field by field (the
    /// fields an older release wrote included), and lists it as live with
    /// its last beat at `beatMs`.
    public func writeWorker(_ worker: String, beatMs: Int64, fields: KeyValuePairs<String, String>) async throws(BrokerError) {
        try await self.redis.send("ZADD", self.keys.workers, beatMs, worker)
        guard !fields.isEmpty else { return }
        try await self.redis.send(RedisCommand("HSET", [self.keys.worker(worker)] + fields.flatMap { [$0.key, $0.value] }))
    }

    /// Drops workers' records (their heartbeats expired), leaving them listed.
    public func dropWorkerRecords(_ workers: String...) async throws(BrokerError) {
        try await self.redis.send(RedisCommand("DEL", workers.map { self.keys.worker($0) }))
    }

    /// Sets the leader lock to `value` for `ttl` (another node leading), or
    /// with no expiry; returns nothing: the epoch is `bumpLeaderEpoch`'s.
    public func setLeaderLock(_ value: String, ttl: Duration? = nil) async throws(BrokerError) {
        if let ttl {
            try await self.redis.send("SET", self.keys.leader, value, "PX", ttl.wholeMilliseconds)
        } else {
            try await self.redis.send("SET", self.keys.leader, value)
        }
    }

    /// Hands out the next leadership epoch, as an election does.
    public func bumpLeaderEpoch() async throws(BrokerError) -> Int64 {
        try await self.redis.send("INCR", self.keys.leaderEpoch).int ?? 0
    }

    /// Sets the last epoch handed out.
    public func setLeaderEpoch(_ epoch: Int64) async throws(BrokerError) {
        try await self.redis.send("SET", self.keys.leaderEpoch, epoch)
    }

    /// Forgets the lock and the epoch (Redis lost them).
    public func dropLeadership() async throws(BrokerError) {
        try await self.redis.send("DEL", self.keys.leader, self.keys.leaderEpoch)
    }

    /// Sets the restore sentinel (`"restoring"`: a restore under way).
    public func setRestoreSentinel(_ value: String) async throws(BrokerError) {
        try await self.redis.send("SET", self.keys.sentinel, value)
    }

    /// Wakes the delayed promoter now.
    public func wakePromoter() async throws(BrokerError) {
        try await self.redis.send("LPUSH", self.keys.delayedWake, "1")
    }

    /// Claims node id `nodeID` for `value` (a node's presence record) for `ttl`.
    public func claimNodeID(_ nodeID: String, as value: String, ttl: Duration) async throws(BrokerError) {
        try await self.redis.send("SET", self.keys.nodePresence(nodeID), value, "PX", ttl.wholeMilliseconds)
    }

    /// Lets node ids' claims go.
    public func releaseNodeIDs(_ nodeIDs: String...) async throws(BrokerError) {
        try await self.redis.send(RedisCommand("DEL", nodeIDs.map { self.keys.nodePresence($0) }))
    }

    /// Deletes every key of the namespace (a test's cleanup).
    public func deleteNamespace() async throws(BrokerError) {
        let keys = try await self.redis.send("KEYS", self.keys.everyKeyPattern).array?.compactMap(\.bytes) ?? []
        guard !keys.isEmpty else { return }
        try await self.redis.send(RedisCommand("DEL", keys))
    }

    /// Renames every key of the namespace as a release before the hash tag
    /// named it (`ns:…` for `{ns}:…`): what such a release left behind.
    /// Returns the old names.
    @discardableResult
    public func renameToPreTagKeys() async throws(BrokerError) -> [String] {
        let tagged = try await self.redis.send("KEYS", self.keys.everyKeyPattern).array?.compactMap(\.string) ?? []
        var renamed: [String] = []
        for key in tagged {
            let old = self.keys.namespace + key.dropFirst(self.keys.prefix.count)
            try await self.redis.send("RENAME", key, old)
            renamed.append(old)
        }
        return renamed
    }

    /// The keys of a release before the hash tag (the pattern a refusing node names).
    public func preTagKeys() async throws(BrokerError) -> [String] {
        try await self.redis.send("KEYS", self.keys.untaggedPattern).array?.compactMap(\.string) ?? []
    }

    /// Deletes keys by name, as an operator following the node's advice would.
    public func delete(keys: [String]) async throws(BrokerError) {
        guard !keys.isEmpty else { return }
        try await self.redis.send(RedisCommand("UNLINK", keys))
    }

    /// Empties the whole Redis database, every namespace (Redis lost its data).
    public func flushDatabase() async throws(BrokerError) {
        try await self.redis.send("FLUSHDB")
    }
}

import BatonRedis

/// The leader lock: `<node>|<token>` with a TTL, and an epoch that grows with
/// every acquisition.
extension RedisBroker: LeadershipBroker {
    /// Takes the lock if it is free; returns the new epoch, or nil.
    public func acquireLeadership(lockValue: String, ttl: Duration) async throws(BrokerError) -> Int64? {
        let epoch = try await self.control.run(
            BrokerScripts.acquireLeadership, keys: [self.keys.leader, self.keys.leaderEpoch], arguments: [lockValue, ttl.wholeMilliseconds]
        ).int ?? 0
        return epoch > 0 ? epoch : nil
    }

    /// Extends the lock; false when the caller no longer holds it.
    public func renewLeadership(lockValue: String, ttl: Duration) async throws(BrokerError) -> Bool {
        try await self.control.run(BrokerScripts.renewLeadership, keys: [self.keys.leader], arguments: [lockValue, ttl.wholeMilliseconds]).int == 1
    }

    public func releaseLeadership(lockValue: String) async throws(BrokerError) {
        try await self.control.run(BrokerScripts.releaseIfHeld, keys: [self.keys.leader], arguments: [lockValue])
    }

    /// Lifts the epoch to at least `floor` while holding the lock; nil without it.
    public func raiseEpoch(lockValue: String, floor: Int64) async throws(BrokerError) -> Int64? {
        let epoch = try await self.control.run(
            BrokerScripts.raiseEpoch, keys: [self.keys.leader, self.keys.leaderEpoch], arguments: [lockValue, floor]
        ).int ?? 0
        return epoch > 0 ? epoch : nil
    }
}

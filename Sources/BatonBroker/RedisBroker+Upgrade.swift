import BatonRedis

extension RedisBroker {
    /// The keys of `RedisKeys.untaggedState` Redis holds: state of a release
    /// before the hash tag, which this one would not see (to it, Redis would
    /// look empty, and a node of each release would lead its own cluster on
    /// the same tasks). One round trip, at start only.
    ///
    /// Empty on a Redis Cluster: no such release ran on one (its scripts'
    /// keys spanned slots), and asking for a key of another slot would
    /// redirect the node's connections away from its own slot.
    public func untaggedState() async throws(BrokerError) -> [String] {
        guard self.redis.client.configuration.cluster == nil else { return [] }
        let keys = self.keys.untaggedState
        let replies = try await self.redis.pipelineChecked(keys.map { RedisCommand("EXISTS", $0) })
        return zip(keys, replies).filter { $0.1.int == 1 }.map(\.0)
    }
}

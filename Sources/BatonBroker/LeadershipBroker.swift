/// What the elector asks of the broker: the leader lock and its epoch, on the
/// liveness pool. A protocol so the elector's logic can be tested against
/// an in-memory lock; `RedisBroker` is the one that runs.
public protocol LeadershipBroker: Sendable {
    /// The cluster's name, which MySQL's records of its epochs carry.
    var cluster: String { get }
    var clock: ClusterClock { get }

    /// Takes the lock if it is free; returns the new epoch, or nil.
    func acquireLeadership(lockValue: String, ttl: Duration) async throws(BrokerError) -> Int64?
    /// Extends the lock; false when the caller no longer holds it.
    func renewLeadership(lockValue: String, ttl: Duration) async throws(BrokerError) -> Bool
    func releaseLeadership(lockValue: String) async throws(BrokerError)
    /// Lifts the epoch to at least `floor` while holding the lock; nil without it.
    func raiseEpoch(lockValue: String, floor: Int64) async throws(BrokerError) -> Int64?
}

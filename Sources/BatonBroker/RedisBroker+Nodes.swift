import BatonRedis

/// Which live incarnation holds a node id. Every node (whatever its roles)
/// claims its id at start and refreshes the claim like a heartbeat, so a
/// second process started with the same id is told, not merged in.
extension RedisBroker {
    /// Another incarnation's claim on a node id, and how long it lives
    /// unless refreshed (by Redis's clock).
    public struct NodeClaim: Sendable, Equatable {
        public var holder: String
        public var remaining: Duration
    }

    /// Claims `nodeID` for `incarnation` for `ttl` (or refreshes the claim);
    /// `replacing` names an incarnation the caller knows to be dead, whose
    /// claim is taken over. Returns nil when claimed, else the holder's claim.
    /// On the control pool: a refresh never waits behind client traffic.
    public func claimNode(_ nodeID: String, incarnation: String, ttl: Duration, replacing: String? = nil) async throws(BrokerError) -> NodeClaim? {
        let reply = try await self.control.run(
            BrokerScripts.claimNode, keys: [self.keys.nodePresence(nodeID)], arguments: [incarnation, ttl.wholeMilliseconds, replacing ?? ""]
        )
        guard let parts = reply.array, parts.count == 2, let holder = parts[0].string else { return nil }
        return NodeClaim(holder: holder, remaining: .milliseconds(max(0, parts[1].int ?? 0)))
    }

    /// Frees `nodeID` on a graceful stop, if `incarnation` still holds it.
    public func releaseNode(_ nodeID: String, incarnation: String) async throws(BrokerError) {
        try await self.control.run(BrokerScripts.releaseIfHeld, keys: [self.keys.nodePresence(nodeID)], arguments: [incarnation])
    }
}

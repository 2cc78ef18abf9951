import BatonBroker
import Logging
import ServiceLifecycle

/// Holds this node's id in Redis for as long as the node runs, whatever its
/// roles: claimed once at start (`claim`), refreshed every heartbeat
/// interval with the heartbeat TTL, released on a graceful stop.
///
/// Two live processes with one id would share a worker registration (each
/// start declares the other's worker dead) and one name in GetStats, so the
/// second is refused. A holder that is not live does not block a start
/// (DESIGN: a node restarted with its command line rejoins): when it ran on
/// this machine, /proc tells at once (`NodeIncarnation.isAlive`); when it ran
/// elsewhere, the start waits at most the claim's TTL, watching whether the
/// holder refreshes it (live: refused) or lets it lapse (dead: taken).
struct NodePresence: Service {
    let broker: RedisBroker
    let nodeID: String
    let incarnation: NodeIncarnation
    let ttl: Duration
    let interval: Duration
    let logger: Logger

    /// Waits for the id to be free (or its holder proved dead) and claims it;
    /// throws a `NodeStartError` naming the live holder.
    func claim() async throws {
        var replacing: String?
        var watched: RedisBroker.NodeClaim?
        while true {
            guard let claim = try await self.broker.claimNode(self.nodeID, incarnation: self.incarnation.token, ttl: self.ttl, replacing: replacing) else {
                return
            }
            let holder = NodeIncarnation(token: claim.holder)
            switch holder.flatMap(self.incarnation.isAlive) {
            case true?:
                throw self.inUse(by: holder)
            case false?:
                self.logger.notice("this node's previous process is gone; taking its id over", metadata: ["previous": "\(holder.map(\.description) ?? "?")"])
                replacing = claim.holder
            case nil:
                // A refresh puts the claim's remaining time back up: its holder lives.
                if let watched, watched.holder == claim.holder, claim.remaining > watched.remaining + .milliseconds(100) {
                    throw self.inUse(by: holder)
                }
                if watched?.holder != claim.holder {
                    self.logger.notice(
                        "node id held by a process this machine cannot see; waiting for its claim to lapse (refused if it is refreshed)",
                        metadata: ["holder": "\(holder.map(\.description) ?? claim.holder)", "wait_at_most": "\(claim.remaining)"]
                    )
                }
                watched = claim
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    private func inUse(by holder: NodeIncarnation?) -> NodeStartError {
        NodeStartError(
            "node id \(self.nodeID) is held by a live node (\(holder.map(\.description) ?? "unknown process")): stop that node, or give this one "
                + "another id with --id (or BATON_ID, or id: in the --config file)"
        )
    }

    func run() async throws {
        let taken = await cancelWhenGracefulShutdown { () -> RedisBroker.NodeClaim? in
            var healthy = true
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                do {
                    if let other = try await self.broker.claimNode(self.nodeID, incarnation: self.incarnation.token, ttl: self.ttl) { return other }
                    if !healthy { self.logger.info("node presence restored") }
                    healthy = true
                } catch {
                    if healthy { self.logger.warning("could not refresh this node's presence", metadata: ["error": "\(error)"]) }
                    healthy = false
                }
            }
            return nil
        }
        if let taken {
            // Our claim lapsed (Redis out of reach past the TTL) and another process took the id.
            throw NodeStartError(
                "node id \(self.nodeID) was taken by another node (\(NodeIncarnation(token: taken.holder).map(\.description) ?? "unknown")) while this one ran: stopping"
            )
        }
        do {
            try await self.broker.releaseNode(self.nodeID, incarnation: self.incarnation.token)
        } catch {
            self.logger.warning("could not release this node's id; it frees itself after the heartbeat TTL", metadata: ["error": "\(error)"])
        }
    }
}

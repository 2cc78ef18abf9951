import BatonBroker
import BatonModel
import BatonStore
import Logging
import ServiceLifecycle

/// Competes for the leader lock and keeps it: a key holding this node's
/// random token with a TTL, renewed by compare-and-renew; each acquisition
/// increments the epoch. A failed or erroring renewal ends leadership at
/// once (well before the TTL runs out); a graceful stop releases the lock so
/// another node leads within one renew interval. With an epoch store, a new
/// term is recorded in MySQL before it starts: the epoch never goes
/// backwards (also after Redis lost its data) and the leader's MySQL writes
/// are fenced by it.
public struct Elector: Service {
    public struct Configuration: Sendable {
        public var lockTTL: Duration = .seconds(10)
        public var renewInterval: Duration = .seconds(3)

        public init() {}
    }

    private let broker: any LeadershipBroker
    private let epochs: LeaderEpochStore?
    private let nodeID: String
    private let state: LeaderState
    private let configuration: Configuration
    private let logger: Logger

    public init(
        broker: any LeadershipBroker, epochs: LeaderEpochStore? = nil, nodeID: String, state: LeaderState, configuration: Configuration = .init(),
        logger: Logger
    ) {
        self.broker = broker
        self.epochs = epochs
        self.nodeID = nodeID
        self.state = state
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let lockValue = "\(self.nodeID)|\(UInt64.random(in: 1...UInt64.max))"
        let ttl = self.configuration.lockTTL
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.tick(lockValue: lockValue, ttl: ttl)
                // Jitter keeps several nodes from asking at the same instant.
                let jitter = Double.random(in: 0.9...1.1)
                try? await Task.sleep(for: self.configuration.renewInterval * jitter)
            }
        }
        if self.state.current != nil {
            self.state.set(nil)
            do {
                try await self.broker.releaseLeadership(lockValue: lockValue)
                self.logger.info("released leadership")
            } catch {
                self.logger.warning("could not release leadership; it expires with its TTL", metadata: ["error": "\(error)"])
            }
        }
    }

    private func tick(lockValue: String, ttl: Duration) async {
        do {
            if let term = self.state.current {
                if try await !self.broker.renewLeadership(lockValue: lockValue, ttl: ttl) {
                    self.logger.warning("lost leadership", metadata: ["epoch": "\(term.epoch)"])
                    self.state.set(nil)
                }
            } else if let epoch = try await self.broker.acquireLeadership(lockValue: lockValue, ttl: ttl) {
                guard let term = try await self.confirm(epoch: epoch, lockValue: lockValue) else {
                    try? await self.broker.releaseLeadership(lockValue: lockValue)
                    return
                }
                self.logger.info("became leader", metadata: ["epoch": "\(term.epoch)"])
                self.state.set(term)
            }
        } catch {
            if let term = self.state.current {
                self.logger.warning("leadership renewal failed; stepping down", metadata: ["epoch": "\(term.epoch)", "error": "\(error)"])
                self.state.set(nil)
            } else {
                self.logger.warning("could not take office", metadata: ["error": "\(error)"])
                try? await self.broker.releaseLeadership(lockValue: lockValue)
            }
        }
    }

    /// Records the new epoch in MySQL. When MySQL has seen one as high (Redis
    /// lost its data and its counter restarted), the Redis epoch is lifted
    /// above it first, so epochs only grow.
    private func confirm(epoch: Int64, lockValue: String) async throws -> LeaderState.Term? {
        guard let epochs = self.epochs else { return LeaderState.Term(epoch: epoch, lockValue: lockValue) }
        let cluster = self.broker.cluster
        var epoch = epoch
        if try await !epochs.claim(cluster: cluster, epoch: epoch, now: self.broker.clock.now()) {
            let highest = try await epochs.highest(cluster: cluster)
            guard let raised = try await self.broker.raiseEpoch(lockValue: lockValue, floor: highest + 1) else { return nil }
            self.logger.warning("leader epoch was behind MySQL's (Redis lost its data?); raised", metadata: ["from": "\(epoch)", "to": "\(raised)"])
            epoch = raised
            guard try await epochs.claim(cluster: cluster, epoch: epoch, now: self.broker.clock.now()) else { return nil }
        }
        return LeaderState.Term(epoch: epoch, lockValue: lockValue, fence: LeaderFence(cluster: cluster, epoch: epoch))
    }
}

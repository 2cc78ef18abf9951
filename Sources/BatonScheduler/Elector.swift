import BatonBroker
import BatonModel
import BatonRedis
import Logging
import ServiceLifecycle

/// Competes for the leader lock and keeps it: a key holding this node's
/// random token with a TTL, renewed by compare-and-renew; each acquisition
/// increments the epoch. A failed or erroring renewal ends leadership at
/// once (well before the TTL runs out); a graceful stop releases the lock so
/// another node leads within one renew interval.
public struct Elector: Service {
    public struct Configuration: Sendable {
        public var lockTTL: Duration = .seconds(10)
        public var renewInterval: Duration = .seconds(3)

        public init() {}
    }

    private let broker: RedisBroker
    private let nodeID: String
    private let state: LeaderState
    private let configuration: Configuration
    private let logger: Logger

    public init(broker: RedisBroker, nodeID: String, state: LeaderState, configuration: Configuration = .init(), logger: Logger) {
        self.broker = broker
        self.nodeID = nodeID
        self.state = state
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let lockValue = "\(self.nodeID)|\(UInt64.random(in: 1...UInt64.max))"
        let ttl = self.configuration.lockTTL.wholeMilliseconds
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
                try await self.broker.redis.run(BrokerScripts.releaseLeadership, keys: [self.broker.keys.leader], arguments: [lockValue])
                self.logger.info("released leadership")
            } catch {
                self.logger.warning("could not release leadership; it expires with its TTL", metadata: ["error": "\(error)"])
            }
        }
    }

    private func tick(lockValue: String, ttl: Int64) async {
        do {
            if let term = self.state.current {
                let renewed = try await self.broker.redis.run(
                    BrokerScripts.renewLeadership, keys: [self.broker.keys.leader], arguments: [lockValue, ttl]
                )
                if renewed.int != 1 {
                    self.logger.warning("lost leadership", metadata: ["epoch": "\(term.epoch)"])
                    self.state.set(nil)
                }
            } else {
                let epoch = try await self.broker.redis.run(
                    BrokerScripts.acquireLeadership, keys: [self.broker.keys.leader, self.broker.keys.leaderEpoch], arguments: [lockValue, ttl]
                ).int ?? 0
                if epoch > 0 {
                    self.logger.info("became leader", metadata: ["epoch": "\(epoch)"])
                    self.state.set(LeaderState.Term(epoch: epoch, lockValue: lockValue))
                }
            }
        } catch {
            if let term = self.state.current {
                self.logger.warning("leadership renewal failed; stepping down", metadata: ["epoch": "\(term.epoch)", "error": "\(error)"])
                self.state.set(nil)
            }
        }
    }
}

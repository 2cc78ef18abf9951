import BatonBroker
import BatonModel
import BatonRedis
import Foundation
import Logging
import ServiceLifecycle

/// Registers the worker and refreshes its entry every `heartbeatInterval`
/// with its load; the entry expires after `heartbeatTTL` without a beat, so
/// the leader can tell a dead worker. After a Redis outage the next beat
/// registers it again. Deregisters on a graceful stop.
public struct WorkerHeartbeat: Service {
    private let broker: RedisBroker
    private let configuration: WorkerConfiguration
    private let load: @Sendable () -> (running: Int, draining: Bool)
    private let logger: Logger

    init(broker: RedisBroker, configuration: WorkerConfiguration, load: @escaping @Sendable () -> (running: Int, draining: Bool), logger: Logger) {
        self.broker = broker
        self.configuration = configuration
        self.load = load
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var healthy = true
            while !Task.isCancelled {
                do {
                    try await self.beat()
                    if !healthy { self.logger.info("heartbeat restored") }
                    healthy = true
                } catch {
                    if healthy { self.logger.warning("heartbeat failed", metadata: ["error": "\(error)"]) }
                    healthy = false
                }
                try? await Task.sleep(for: self.configuration.heartbeatInterval)
            }
        }
        try? await self.deregister()
    }

    public func beat() async throws {
        let keys = self.broker.keys
        let (running, draining) = self.load()
        let queued = try await self.broker.redis.send("LLEN", keys.workerQueue(self.configuration.workerID)).int ?? 0
        let fields: [String] = [
            "node_id", self.configuration.nodeID,
            "capacity", String(self.configuration.capacity),
            "running", String(running),
            "queued", String(queued),
            "types", self.configuration.taskTypes.isEmpty ? "*" : self.configuration.taskTypes.joined(separator: ","),
            "draining", draining ? "1" : "0",
        ]
        try await self.broker.redis.run(
            BrokerScripts.heartbeat,
            keys: [keys.workers, keys.worker(self.configuration.workerID)],
            arguments: [self.configuration.workerID, String(Int64(Date().timeIntervalSince1970 * 1000)), String(self.configuration.heartbeatTTL.wholeMilliseconds)] + fields
        )
    }

    func deregister() async throws {
        let keys = self.broker.keys
        _ = try await self.broker.redis.pipeline([
            RedisCommand("ZREM", keys.workers, self.configuration.workerID),
            RedisCommand("DEL", keys.worker(self.configuration.workerID)),
        ])
    }
}

import BatonBroker
import BatonModel
import BatonRedis
import BatonStore
import Foundation
import Logging

/// Finds workers whose heartbeat expired and gives their tasks back: queued
/// ones to the front of their priority queues, in-flight ones too but as a
/// new attempt that does not spend the type's retries. A task that has lost
/// `maxWorkerLosses` workers fails instead, so a task that kills its worker
/// cannot take the cluster down one node at a time.
public struct DeadWorkerRecoverer: LeaderLoop {
    public struct Configuration: Sendable {
        public var heartbeatTTL: Duration = .seconds(9)
        public var interval: Duration = .seconds(1)
        public var maxWorkerLosses = 3

        public init() {}
    }

    public let name = "dead-worker-recoverer"
    private let broker: RedisBroker
    private let tasks: TaskStore
    private let configuration: Configuration
    private let logger: Logger

    public init(broker: RedisBroker, tasks: TaskStore, configuration: Configuration = .init(), logger: Logger) {
        self.broker = broker
        self.tasks = tasks
        self.configuration = configuration
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            try await self.recoverOnce()
            try await Task.sleep(for: self.configuration.interval)
        }
    }

    /// Returns the ids of the workers reclaimed.
    @discardableResult
    public func recoverOnce(now: Date = Date()) async throws -> [String] {
        let keys = self.broker.keys
        let expiredBefore = Int64(now.timeIntervalSince1970 * 1000) - self.configuration.heartbeatTTL.wholeMilliseconds
        let dead = try await self.broker.redis.send("ZRANGEBYSCORE", keys.workers, "-inf", "(\(expiredBefore)").array?.compactMap(\.string) ?? []
        for workerID in dead {
            let inflight = try await self.broker.reclaim(workerID: workerID)
            let failed = try await self.tasks.recordWorkerLoss(
                inflight.map(\.taskID), workerID: workerID, cap: self.configuration.maxWorkerLosses, now: now
            )
            if !failed.isEmpty {
                try await self.tasks.appendLogs(failed.map { id in
                    .init(taskID: id, attempt: 0, workerID: workerID, level: "ERROR",
                          message: "failed: worker lost \(self.configuration.maxWorkerLosses) times", createdAt: now)
                })
            }
            try await self.tasks.appendLogs(inflight.filter { !failed.contains($0.taskID) }.map { entry in
                .init(taskID: entry.taskID, attempt: 0, workerID: workerID, level: "WARN",
                      message: "worker \(workerID) stopped heartbeating; requeued for a new attempt", createdAt: now)
            })
            try await self.broker.announce(inflight.map(\.taskID))
            self.logger.warning("reclaimed dead worker", metadata: ["worker_id": "\(workerID)", "in_flight": "\(inflight.count)"])
        }
        return dead
    }
}

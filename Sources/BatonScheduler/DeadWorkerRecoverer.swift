import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging

/// Finds workers whose heartbeat expired and gives their tasks back: queued
/// ones to the front of their priority queues, in-flight ones too but as a
/// new attempt that does not spend the type's retries. A task that has lost
/// `maxWorkerLosses` workers fails instead, so a task that kills its worker
/// cannot take the cluster down one node at a time.
///
/// A worker is declared dead in Redis first (atomically re-checking its
/// heartbeat by Redis's clock; from then on its heartbeats are refused), then
/// its tasks are recorded in MySQL, then put back on the queues: a failure
/// between the steps resumes at the next pass, and a requeued task never
/// reaches a worker while its row still says RUNNING. A worker whose node
/// restarted under a new incarnation is declared dead by that incarnation and
/// reclaimed at once.
///
/// Heartbeats that look old may only mean this leader could not see them:
/// after taking office, after an error, and after any pause longer than a
/// few passes (a Redis stall, this process stopped), it watches for one full
/// heartbeat TTL before it declares anyone dead.
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
        // A pass that comes this much later than planned means we were blind meanwhile.
        let blindAfter = self.configuration.interval * 2 + .seconds(1)
        var watchingSince = ContinuousClock.now
        var lastPass = ContinuousClock.now
        self.logger.info(
            "watching heartbeats for one TTL before declaring workers dead",
            metadata: ["ttl": "\(self.configuration.heartbeatTTL)", "epoch": "\(term.epoch)"]
        )
        var prunedAt = ContinuousClock.now - .seconds(3600)
        while !Task.isCancelled {
            let now = ContinuousClock.now
            if now - prunedAt >= .seconds(3600) {
                try await self.tasks.pruneWorkerFences(before: self.broker.clock.now().addingTimeInterval(-7 * 86400))
                prunedAt = now
            }
            if now - lastPass > blindAfter {
                self.logger.warning(
                    "heartbeats were out of sight; watching for one TTL before declaring workers dead",
                    metadata: ["for": "\(now - lastPass)"]
                )
                watchingSince = now
            }
            try await self.recoverOnce(term: term, mayDeclare: now - watchingSince >= self.configuration.heartbeatTTL)
            lastPass = .now
            try await Task.sleep(for: self.configuration.interval)
        }
    }

    /// One pass: finishes reclaims left half-done, declares expired workers
    /// dead when `mayDeclare`, and reclaims them. Returns the ids reclaimed.
    @discardableResult
    public func recoverOnce(term: LeaderState.Term, mayDeclare: Bool = true) async throws -> [String] {
        var dead = try await self.broker.workersToReclaim()
        if mayDeclare {
            for workerID in try await self.broker.expiredWorkers(ttl: self.configuration.heartbeatTTL) where !dead.contains(workerID) {
                if try await self.broker.declareDead(workerID: workerID, ttl: self.configuration.heartbeatTTL, fence: term.lockValue) {
                    dead.append(workerID)
                }
            }
        }
        for workerID in dead {
            try await self.reclaim(workerID, term: term)
        }
        return dead
    }

    /// MySQL first (the worker fenced, so that a start write of it that
    /// comes late lands nowhere; each in-flight task back to QUEUED, or
    /// FAILED at the cap), then Redis. Every step is idempotent.
    private func reclaim(_ workerID: String, term: LeaderState.Term) async throws {
        let now = self.broker.clock.now()
        try await self.tasks.fenceWorker(workerID, cluster: self.broker.cluster, now: now)
        let inflight = try await self.broker.inFlight(workerID: workerID)
        let ids = Array(Set(inflight.map(\.taskID)))
        let entries = Dictionary(inflight.map { ($0.taskID, $0.generation) }, uniquingKeysWith: max).map { (taskID: $0.key, generation: $0.value) }
        let (failed, cancelled) = try await self.tasks.recordWorkerLoss(
            entries, workerID: workerID, cap: self.configuration.maxWorkerLosses, now: now, fence: term.fence
        )
        guard let moved = try await self.broker.reclaimDeadWorker(workerID: workerID, fence: term.lockValue) else { return }
        var lines = failed.map { id in
            TaskLogRecord(taskID: id, attempt: 0, workerID: workerID, level: "ERROR",
                          message: "failed: worker lost \(self.configuration.maxWorkerLosses) times", createdAt: now)
        }
        lines += ids.filter { !failed.contains($0) }.map { id in
            TaskLogRecord(taskID: id, attempt: 0, workerID: workerID, level: "WARN",
                          message: "worker \(workerID) stopped heartbeating; requeued for a new attempt", createdAt: now)
        }
        try await self.tasks.appendLogs(lines)
        // With the dependents a failure cancelled: their watchers hear it now, not at their fallback read.
        try await self.broker.announce(ids + cancelled.map(\.taskID))
        self.logger.warning("reclaimed dead worker", metadata: ["worker_id": "\(workerID)", "in_flight": "\(ids.count)", "requeued": "\(moved)"])
    }
}

import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging

/// RUNNING tasks past `started_at + timeout` that nobody reported (the
/// worker enforces timeouts itself; this covers a worker that hangs or loses
/// its report): retried after a backoff, or ended as TIMEOUT.
public struct TimeoutRecoverer: LeaderLoop {
    public let name = "timeout-recoverer"
    private let broker: RedisBroker
    private let tasks: TaskStore
    private let configs: TaskConfigCache
    private let interval: Duration
    /// Extra time given to the worker to report on its own.
    private let grace: TimeInterval
    private let logger: Logger

    public init(broker: RedisBroker, tasks: TaskStore, configs: TaskConfigCache, interval: Duration = .seconds(2), grace: TimeInterval = AttemptLease.grace, logger: Logger) {
        self.broker = broker
        self.tasks = tasks
        self.configs = configs
        self.interval = interval
        self.grace = grace
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            try await self.recoverOnce(term: term)
            try await Task.sleep(for: self.interval)
        }
    }

    @discardableResult
    public func recoverOnce(term: LeaderState.Term, now: Date? = nil) async throws -> Int {
        let now = now ?? self.broker.clock.now()
        let overdue = try await self.tasks.overdue(now: now, grace: self.grace, limit: 500)
        var finished: [String: [(entry: QueueEntry, due: Int64)]] = [:]
        var cancelled: [String] = []
        for task in overdue {
            let message = "attempt \(task.attempt) timed out after \(task.timeoutSeconds) s (no report from worker \(task.workerID ?? "?"))"
            let decision = try await RetryDecision(task, after: .timedOut, now: now) {
                try await self.configs.config(task.taskType)?.retryBackoffMs
            }
            switch decision {
            case .retry(let at):
                guard try await self.tasks.recordLeaderOutcome(
                    task.taskID, tenant: task.tenant, attempt: task.attempt, status: .retrying, error: message, retryAt: at, now: now, fence: term.fence
                ) != nil else { continue }
            case .end(let final):
                guard let settled = try await self.tasks.recordLeaderOutcome(
                    task.taskID, tenant: task.tenant, attempt: task.attempt, status: final, error: message, now: now, fence: term.fence
                ) else { continue }
                cancelled += settled.cancelled.map(\.taskID)
            }
            try await self.tasks.appendLogs([.init(taskID: task.taskID, attempt: task.attempt, workerID: task.workerID ?? "", level: "ERROR", message: message, createdAt: now)])
            finished[task.workerID ?? "-", default: []].append((QueueEntry(task), decision.retryDue))
        }
        for (workerID, entries) in finished {
            try await self.broker.acknowledge(workerID: workerID, entries, fence: term.lockValue)
        }
        // The dependents a timeout cancelled change too: their watchers hear it now, not at their fallback read.
        if !cancelled.isEmpty { try await self.broker.announce(cancelled) }
        return finished.values.reduce(0) { $0 + $1.count }
    }
}

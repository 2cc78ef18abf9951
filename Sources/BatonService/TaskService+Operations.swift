import BatonAuth
import BatonBroker
import BatonModel
import BatonProto
import BatonStore
import Foundation
import GRPCCore

/// Dead letters run again, one or in bulk; bulk cancel.
extension TaskService {
    /// Tasks a bulk call reads and changes per round trip.
    static let bulkPage = 500

    /// RetryTask: a FAILED, TIMEOUT or CANCELLED task runs again, with a
    /// fresh retry budget (attempt keeps counting). A task with
    /// dependencies runs only after them: it is QUEUED when every parent
    /// SUCCEEDED, WAITING while one has not finished; while one is FAILED,
    /// TIMEOUT or CANCELLED the call is FAILED_PRECONDITION naming it and
    /// changes nothing (retrying that parent brings back the dependents its
    /// end cancelled). The dependents this task's end cancelled wait again.
    /// When Redis does not take the QUEUED task, the retry is undone,
    /// those dependents included, and the call is UNAVAILABLE.
    public func retryTask(_ request: Baton_V1_RetryTaskRequest) async throws -> Baton_V1_RetryTaskResponse {
        let priority: TaskPriority?
        do {
            try self.validator.validate(taskID: request.taskID)
            try self.validator.validate(reason: request.reason)
            priority = try request.hasPriority ? self.validator.priority(request.priority) : nil
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let now = self.broker.clock.now().roundedToMicroseconds
        let before = try await self.existingTask(request.taskID)
        guard TaskStore.retryable.contains(before.status) else {
            throw RPCError(code: .failedPrecondition, message: "task \(before.taskID) is \(before.status.wireName); only FAILED, TIMEOUT or CANCELLED tasks can be retried")
        }
        // Its type must still be there to run it (checked again, under a
        // lock, by the retry itself: the cache may be seconds old).
        let config = try await RPCErrors.guarding("RetryTask", logger: self.logger) { try await self.configs.config(before.taskType) }
        guard config?.enabled == true else { throw Self.typeUnavailable(before) }
        let outcome = try await RPCErrors.guarding("RetryTask", logger: self.logger) {
            try await self.tasks.retryReviving([request.taskID], from: before.status, priority: priority, now: now)
        }
        if let blocker = outcome.blocked[request.taskID] {
            throw RPCError(
                code: .failedPrecondition,
                message: "task \(before.taskID) depends on task \(blocker.parent), which is \(blocker.status.wireName): retry that task instead "
                    + "(its retry brings back the dependents its end cancelled)"
            )
        }
        let retried = outcome.retried
        // Dependents its end had cancelled wait again.
        if !outcome.revived.isEmpty { try? await self.broker.announce(outcome.revived.map(\.taskID)) }
        guard let task = retried.first else {
            let current = try await self.existingTask(request.taskID)
            if current.status == before.status { throw Self.typeUnavailable(current) }
            throw RPCError(code: .failedPrecondition, message: "task \(current.taskID) is \(current.status.wireName) (changed meanwhile)")
        }
        try await self.enqueueRetried(retried, before: [before], at: now, operation: "RetryTask")
        try await self.recordRetries(retried, reason: request.reason)
        return .with { $0.task = Baton_V1_Task(task) }
    }

    /// A task whose type was deleted or disabled cannot run again.
    private static func typeUnavailable(_ task: TaskRecord) -> RPCError {
        RPCError(code: .failedPrecondition, message: "task \(task.taskID) cannot run again: task_type \"\(task.taskType)\" is not configured or is disabled")
    }

    public func bulkRetryTasks(_ request: Baton_V1_BulkTasksRequest) async throws -> Baton_V1_BulkTasksResponse {
        try await self.bulk(request, allowed: TaskStore.retryable, operation: "BulkRetryTasks") { page, now in
            try await self.retryPage(page, at: now, reason: request.reason, operation: "BulkRetryTasks")
        }
    }

    /// Retries one page of a bulk call's tasks, each from the status it has
    /// now (read again: the match may be a while old); how many it changed.
    func retryPage(_ page: [String], at now: Date, reason: String, operation: String) async throws -> Int {
        let current = try await self.tasks.tasks(page).filter { TaskStore.retryable.contains($0.status) }
        var changed = 0
        for (status, before) in Dictionary(grouping: current, by: \.status) {
            // Tasks left out (a parent stays ended) are not counted as changed.
            let outcome = try await self.tasks.retryReviving(before.map(\.taskID), from: status, priority: nil, now: now)
            let retried = outcome.retried
            if !outcome.revived.isEmpty { try? await self.broker.announce(outcome.revived.map(\.taskID)) }
            let byID = Dictionary(before.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
            try await self.enqueueRetried(retried, before: retried.compactMap { byID[$0.taskID] }, at: now, operation: operation)
            try await self.recordRetries(retried, reason: reason)
            changed += retried.count
        }
        return changed
    }

    /// Leaves no task that matched the filter when the call began running
    /// or waiting: each is cancelled in whatever unfinished status it has
    /// reached since (dispatched, started, retrying), and a running one's
    /// worker gets the cancel signal, as CancelTask does.
    public func bulkCancelTasks(_ request: Baton_V1_BulkTasksRequest) async throws -> Baton_V1_BulkTasksResponse {
        let reason = request.reason.isEmpty ? "cancelled" : "cancelled: \(request.reason)"
        return try await self.bulk(request, allowed: TaskStatus.nonTerminal, operation: "BulkCancelTasks") { page, now in
            let cancelled = try await ClaimedAttempts.cancelling(page, broker: self.broker) { running in
                try await self.tasks.cancel(page, reason: reason, now: now, running: running)
            }
            await self.signalCancelled(cancelled, message: Caller.keyID.map { "\(reason) (by key \($0), bulk)" } ?? "\(reason) (bulk)")
            return cancelled.count
        }
    }

    /// Reads the filter's tasks first, all in one consistent snapshot (at
    /// most `limit`; see `TaskStore.matching`), then changes them a page at
    /// a time, each page in its own short transaction (never one giant
    /// one). Walking the statuses one after another while changing them
    /// let a task that moved on meanwhile (QUEUED, then dispatched) slip
    /// between two statuses' pages; a snapshot sees each task once.
    func bulk(
        _ request: Baton_V1_BulkTasksRequest,
        allowed: [TaskStatus],
        operation: String,
        change: (_ page: [String], _ now: Date) async throws -> Int
    ) async throws -> Baton_V1_BulkTasksResponse {
        var query: TaskQuery
        let limit: Int
        do {
            (query, limit) = try self.validator.bulk(request, allowed: allowed)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        // Bulk calls are the admins' (every tenant's); scoped all the same,
        // should a lower role ever be let in.
        query.tenant = Caller.current.scope
        let statuses = query.statuses.isEmpty ? allowed : query.statuses
        let found = try await RPCErrors.guarding(operation, logger: self.logger) { [query] in
            try await self.tasks.matching(query, statuses: statuses, limit: limit, pageSize: Self.bulkPage)
        }
        var changed = 0
        if !request.dryRun {
            for start in stride(from: 0, to: found.count, by: Self.bulkPage) {
                let page = Array(found[start..<min(start + Self.bulkPage, found.count)])
                let now = self.broker.clock.now().roundedToMicroseconds
                changed += try await RPCErrors.guarding(operation, logger: self.logger) { try await change(page, now) }
            }
        }
        self.logger.info(
            "bulk operation",
            metadata: ["operation": "\(operation)", "matched": "\(found.count)", "changed": "\(changed)", "dry_run": "\(request.dryRun)", "by": "\(Caller.description)"]
        )
        return .with {
            $0.matched = Int64(found.count)
            $0.changed = Int64(changed)
        }
    }

    /// After the rows are CANCELLED (whatever happens next: a worker's
    /// conditional update can no longer start or finish them): the workers
    /// that may run them are told, best effort (the dispatcher and workers
    /// drop entries of cancelled tasks anyway), and each gets a log line.
    func signalCancelled(_ cancelled: [TaskRecord], message: String) async {
        for task in cancelled {
            do {
                try await self.broker.cancel(task)
            } catch {
                self.logger.warning("cancel signal not sent", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
            }
        }
        let now = self.broker.clock.now()
        try? await self.tasks.appendLogs(cancelled.map {
            TaskLogRecord(taskID: $0.taskID, attempt: $0.attempt, workerID: "", level: "INFO", message: message, createdAt: now)
        })
    }

    /// Queues the retried tasks that are QUEUED (not those WAITING for their
    /// dependencies); if Redis is away, puts every retried row back as it
    /// was, with the dependents the retry revived (the call fails
    /// UNAVAILABLE and changed nothing). Should that undo fail too, the rows
    /// stay QUEUED and WAITING in MySQL, and the leader's reconciler
    /// queues the QUEUED ones.
    private func enqueueRetried(_ retried: [TaskRecord], before: [TaskRecord], at now: Date, operation: String) async throws {
        let queued = retried.filter { $0.status == .queued }
        guard !queued.isEmpty else { return }
        do {
            try await self.broker.enqueue(queued, now: now)
        } catch {
            try? await self.tasks.undoRetry(before, retriedAt: now, now: self.broker.clock.now().roundedToMicroseconds)
            throw RPCErrors.map(error, logger: self.logger, operation: operation)
        }
    }

    /// A log line on each retried task saying who retried it and why, and
    /// the change announced to its watchers.
    private func recordRetries(_ retried: [TaskRecord], reason: String) async throws {
        guard !retried.isEmpty else { return }
        let why = reason.isEmpty ? "" : ": \(reason)"
        let who = Caller.keyID.map { " by key \($0)" } ?? ""
        let now = self.broker.clock.now()
        try? await self.tasks.appendLogs(retried.map {
            let waits = $0.status == .waiting ? "; waiting for its dependencies" : ""
            return TaskLogRecord(taskID: $0.taskID, attempt: $0.attempt, workerID: "", level: "INFO",
                                 message: "retried\(who)\(why) (after attempt \($0.attempt); retries start again\(waits))", createdAt: now)
        })
        try? await self.broker.announce(retried.map(\.taskID))
        self.logger.info("tasks retried", metadata: ["tasks": "\(retried.count)", "by": "\(Caller.description)"])
    }
}

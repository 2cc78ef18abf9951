import BatonModel
import BatonMySQL
import Foundation

/// What operators do after the happy path: run dead letters again, cancel
/// or retry in bulk, delete what retention no longer keeps. Bulk work goes
/// a bounded page at a time along idx_task_status_updated.
extension TaskStore {
    /// Statuses a task can be run again from (a dead letter).
    public static let retryable: [TaskStatus] = [.failed, .timeout, .cancelled]

    /// One page of the tasks of `status` matching `query`, in (updated_at,
    /// task_id) order after `position`: an index range whatever the filter.
    public func page(_ query: TaskQuery, status: TaskStatus, after position: SweepPosition?, before: Date? = nil, limit: Int) async throws -> [TaskRecord] {
        let (sql, binds) = Self.pageQuery(query, status: status, after: position, before: before, limit: limit)
        return try await self.mysql.query(sql, binds).map(Self.record)
    }

    /// The tasks of `statuses` matching `query` (and `matching`), at most
    /// `limit`, as one consistent snapshot: every page is read in the same
    /// read-only transaction, so a task that moves from one status to
    /// another while the statuses are walked (dispatched, started, retried)
    /// is seen exactly once, in the status it had when the first page was
    /// read, and a task created later not at all. The pages still go along
    /// idx_task_status_updated, `pageSize` rows at a time (the backlog, not
    /// the table), reading only what the walk needs: ids (the callers read
    /// the rows they change again, as they are then).
    public func matching(
        _ query: TaskQuery, statuses: [TaskStatus], limit: Int, pageSize: Int = 500
    ) async throws -> [String] {
        try await self.mysql.withTransaction { session in
            var found: [String] = []
            for status in statuses {
                var position: SweepPosition?
                while found.count < limit {
                    let (sql, binds) = Self.pageQuery(
                        query, status: status, after: position, before: nil, limit: pageSize, columns: "task_id, updated_at"
                    )
                    let read = try await session.execute(sql, binds).rows
                    guard let id = read.last?.string("task_id"), let at = read.last?.date("updated_at") else { break }
                    position = SweepPosition(updatedAt: at, taskID: id)
                    found += read.prefix(limit - found.count).compactMap { $0.string("task_id") }
                    if read.count < pageSize { break }
                }
            }
            return found
        }
    }

    /// The statement of one page along idx_task_status_updated (see `page`).
    static func pageQuery(
        _ query: TaskQuery, status: TaskStatus, after position: SweepPosition?, before: Date?, limit: Int, columns: String = selectColumns
    ) -> (sql: String, binds: [MySQLValue]) {
        let position = position ?? SweepPosition(updatedAt: Date(timeIntervalSince1970: 0), taskID: "")
        var sql = """
            SELECT \(columns) FROM task FORCE INDEX (idx_task_status_updated)
            WHERE status = ? AND (updated_at > ? OR (updated_at = ? AND task_id > ?))
            """
        var binds: [MySQLValue] = [.int(Int64(status.rawValue)), .date(position.updatedAt), .date(position.updatedAt), .string(position.taskID)]
        if let before {
            sql += " AND updated_at < ?"
            binds.append(.date(before))
        }
        if let taskType = query.taskType {
            sql += " AND task_type = ?"
            binds.append(.string(taskType))
        }
        if let tenant = query.tenant {
            sql += " AND tenant = ?"
            binds.append(.string(tenant))
        }
        // Filtered along the status range, as a type is: a schedule's
        // unfinished or dead tasks are among few.
        if let scheduleID = query.scheduleID {
            sql += " AND schedule_id = ?"
            binds.append(.string(scheduleID))
        }
        if let after = query.createdAfter {
            sql += " AND created_at >= ?"
            binds.append(.date(after))
        }
        if let created = query.createdBefore {
            sql += " AND created_at < ?"
            binds.append(.date(created))
        }
        sql += " ORDER BY updated_at, task_id LIMIT ?"
        binds.append(.int(Int64(limit)))
        return (sql, binds)
    }

    /// Tasks by id (those that exist), in no particular order.
    public func tasks(_ taskIDs: [String]) async throws -> [TaskRecord] {
        guard !taskIDs.isEmpty else { return [] }
        return try await self.mysql.query(
            "SELECT \(Self.selectColumns) FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(taskIDs.count)))",
            taskIDs.map { .string($0) }
        ).map(Self.record)
    }

    /// Runs finished tasks of status `from` (FAILED, TIMEOUT or CANCELLED)
    /// again: QUEUED with a fresh retry budget (attempt keeps counting), at
    /// `priority` or their own. Only tasks whose type still exists and is
    /// enabled: the statement reads the type's config row with a shared
    /// lock (REPEATABLE READ locks what a write's subquery reads), so a
    /// concurrent DeleteTaskConfig either waits and then sees the QUEUED
    /// task (and refuses), or went first and nothing is retried. Returns
    /// the tasks this call changed, as they are now.
    public func retry(_ taskIDs: [String], from status: TaskStatus, priority: TaskPriority?, now: Date) async throws -> [TaskRecord] {
        try await self.retryReviving(taskIDs, from: status, priority: priority, now: now).retried
    }

    /// `retry`, and the dependents the retried tasks' end had cancelled,
    /// back in WAITING (same transaction; see `reviveDependents`).
    public func retryReviving(
        _ taskIDs: [String], from status: TaskStatus, priority: TaskPriority?, now: Date
    ) async throws -> (retried: [TaskRecord], revived: [TaskRecord]) {
        guard !taskIDs.isEmpty, Self.retryable.contains(status) else { return ([], []) }
        let priorityValue: MySQLValue = priority.map { .int(Int64($0.rawValue)) } ?? .null
        return try await self.mysql.transaction { trip in
            let updated = try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET status = ?, priority = COALESCE(?, priority), retry_base = attempt, worker_losses = 0,
                  result = NULL, error = NULL, finished_at = NULL, run_at = NULL, retry_at = NULL, generation = generation + 1, updated_at = ?
                WHERE task_id IN (\(Self.placeholders(taskIDs.count))) AND status = ?
                  AND EXISTS (SELECT 1 FROM task_config WHERE task_config.task_type = task.task_type AND task_config.enabled)
                """,
                [.int(Int64(TaskStatus.queued.rawValue)), priorityValue, .date(now)] + taskIDs.map { .string($0) } + [.int(Int64(status.rawValue))]
            )
            guard updated.affectedRows > 0 else { return ([], []) }
            let retried = try trip.execute(
                "SELECT \(Self.selectColumns) FROM task WHERE task_id IN (\(Self.placeholders(taskIDs.count))) AND status = ? AND updated_at = ?",
                taskIDs.map { .string($0) } + [.int(Int64(TaskStatus.queued.rawValue)), .date(now)]
            ).rows.map(Self.record)
            try Self.addFinished(Self.finishedDeltas(retried.map { ($0.tenant, status) }, sign: -1), in: trip)
            let revived = try Self.reviveDependents(of: retried.filter(\.hasDependents).map(\.taskID), now: now, in: trip)
            return (retried, revived)
        }
    }

    /// Puts back tasks a retry changed whose queueing then failed (Redis
    /// away): the row is as before, unless something changed it since.
    public func undoRetry(_ before: [TaskRecord], retriedAt: Date) async throws {
        for task in before {
            try await self.mysql.withTransaction { session in
            let undone = try await session.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET status = ?, priority = ?, retry_base = ?, worker_losses = ?, result = ?, error = ?,
                  finished_at = ?, run_at = ?, updated_at = ?
                WHERE task_id = ? AND status = ? AND updated_at = ?
                """,
                [
                    .int(Int64(task.status.rawValue)), .int(Int64(task.priority.rawValue)), .int(Int64(task.retryBase)),
                    .int(Int64(task.workerLosses)), MySQLValue(task.result), MySQLValue(task.error), MySQLValue(task.finishedAt),
                    MySQLValue(task.runAt), .date(task.updatedAt), .string(task.taskID), .int(Int64(TaskStatus.queued.rawValue)),
                    .date(retriedAt),
                ]
            )
            try await Self.addFinished([TenantStatus(task.tenant, task.status): Int(undone.affectedRows)], in: session)
            }
        }
    }

    /// Cancels unfinished tasks; returns those this call cancelled, as they
    /// are now. Their WAITING dependents end CANCELLED with them, in the
    /// same transaction (see `settleDependents`).
    public func cancel(_ taskIDs: [String], reason: String, now: Date) async throws -> [TaskRecord] {
        try await self.cancelSettling(taskIDs, reason: reason, now: now).cancelled
    }

    /// `cancel`, and the dependents that ended CANCELLED with them.
    public func cancelSettling(_ taskIDs: [String], reason: String, now: Date) async throws -> (cancelled: [TaskRecord], dependents: [TaskRecord]) {
        guard !taskIDs.isEmpty else { return ([], []) }
        return try await self.mysql.transaction { trip in try Self.cancel(taskIDs, reason: reason, now: now, in: trip) }
    }

    /// `cancelSettling`'s writes, inside a caller's transaction (a schedule's
    /// fire that supersedes its previous task cancels it in the fire's own).
    static func cancel(
        _ taskIDs: [String], reason: String, now: Date, in trip: MySQLTrip
    ) throws(MySQLError) -> (cancelled: [TaskRecord], dependents: [TaskRecord]) {
        guard !taskIDs.isEmpty else { return ([], []) }
        let updated = try trip.execute(
            """
            UPDATE task FORCE INDEX (PRIMARY) SET status = ?, error = ?, finished_at = ?, updated_at = ?
            WHERE task_id IN (\(Self.placeholders(taskIDs.count))) AND status IN (\(Self.placeholders(TaskStatus.nonTerminal.count)))
            """,
            [.int(Int64(TaskStatus.cancelled.rawValue)), .string(reason), .date(now), .date(now)] + taskIDs.map { .string($0) }
                + Self.statusValues(TaskStatus.nonTerminal)
        )
        guard updated.affectedRows > 0 else { return ([], []) }
        let cancelled = try trip.execute(
            "SELECT \(Self.selectColumns) FROM task WHERE task_id IN (\(Self.placeholders(taskIDs.count))) AND status = ? AND updated_at = ?",
            taskIDs.map { .string($0) } + [.int(Int64(TaskStatus.cancelled.rawValue)), .date(now)]
        ).rows.map(Self.record)
        try Self.addFinished(Self.finishedDeltas(cancelled.map { ($0.tenant, .cancelled) }), in: trip)
        let settled = try Self.settleDependents(of: cancelled.filter(\.hasDependents).map { ($0.taskID, .cancelled) }, now: now, in: trip)
        return (cancelled, settled.cancelled)
    }
}

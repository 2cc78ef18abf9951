import BatonModel
import BatonMySQL
import Foundation

/// What operators do after the happy path: run dead letters again, cancel
/// or retry in bulk, delete what retention no longer keeps. Bulk work goes
/// a bounded page at a time along idx_task_status_tenant.
extension TaskStore {
    /// Statuses a task can be run again from (a dead letter).
    public static let retryable: [TaskStatus] = [.failed, .timeout, .cancelled]

    /// One page of the tasks of `status` matching `query`, in (tenant,
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
    /// idx_task_status_tenant, `pageSize` rows at a time (the backlog, not
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
                        query, status: status, after: position, before: nil, limit: pageSize, columns: "task_id, tenant"
                    )
                    let read = try await session.execute(sql, binds).rows
                    guard let id = read.last?.string("task_id"), let tenant = read.last?.string("tenant") else { break }
                    position = SweepPosition(tenant: tenant, taskID: id)
                    found += read.prefix(limit - found.count).compactMap { $0.string("task_id") }
                    if read.count < pageSize { break }
                }
            }
            return found
        }
    }

    /// The statement of one page along idx_task_status_tenant (see `page`).
    static func pageQuery(
        _ query: TaskQuery, status: TaskStatus, after position: SweepPosition?, before: Date?, limit: Int, columns: String = selectColumns
    ) -> (sql: String, binds: [MySQLValue]) {
        let position = position ?? .start
        var sql = """
            SELECT \(columns) FROM task FORCE INDEX (\(Self.statusIndex))
            WHERE status = ? AND \(Self.pastPosition)
            """
        var binds: [MySQLValue] = [.int(Int64(status.rawValue))] + Self.pastPositionBinds(position)
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
        sql += " ORDER BY tenant, task_id LIMIT ?"
        binds.append(.int(Int64(limit)))
        return (sql, binds)
    }

    /// The entries of a status's range past a sweep position (the range
    /// optimizer reads the OR as two ranges of the index).
    static let pastPosition = "(tenant > ? OR (tenant = ? AND task_id > ?))"

    static func pastPositionBinds(_ position: SweepPosition) -> [MySQLValue] {
        [.string(position.tenant), .string(position.tenant), .string(position.taskID)]
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
    /// enabled: the type's config row is read with a shared lock, so a
    /// concurrent DeleteTaskConfig either waits and then sees the QUEUED
    /// task (and refuses), or went first and nothing is retried. Returns
    /// the tasks this call changed, as they are now.
    public func retry(_ taskIDs: [String], from status: TaskStatus, priority: TaskPriority?, now: Date) async throws -> [TaskRecord] {
        try await self.retryReviving(taskIDs, from: status, priority: priority, now: now).retried
    }

    /// `retry`, minding dependencies (same transaction):
    /// - a task with `depends_on` runs again only after its parents: QUEUED
    ///   when all SUCCEEDED, else WAITING for those that have not (a parent
    ///   retried in the same call counts as one that has not);
    /// - one whose parent ended FAILED, TIMEOUT or CANCELLED (and is not
    ///   retried with it) is left as it is, in `blocked`: it could only wait
    ///   for ever, and retrying that parent brings back the dependents its
    ///   end cancelled;
    /// - the dependents the retried tasks' end had cancelled wait again
    ///   (see `reviveDependents`).
    public func retryReviving(_ taskIDs: [String], from status: TaskStatus, priority: TaskPriority?, now: Date) async throws -> RetriedTasks {
        guard !taskIDs.isEmpty, Self.retryable.contains(status) else { return RetriedTasks() }
        let priorityValue: MySQLValue = priority.map { .int(Int64($0.rawValue)) } ?? .null
        let ids = taskIDs.map(MySQLValue.string)
        return try await self.mysql.transaction { trip in
            var outcome = RetriedTasks()
            // Parents first (as an outcome write locks them), then the rows.
            let parentsOf = try Self.parentStatuses(of: taskIDs, in: trip)
            let rows = try trip.execute(
                "SELECT task_id, task_type FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(ids.count))) AND status = ? FOR UPDATE",
                ids + [.int(Int64(status.rawValue))]
            ).rows
            let types = Array(Set(rows.compactMap { $0.string("task_type") }))
            guard !types.isEmpty else { return outcome }
            let enabled = Set(try trip.execute(
                "SELECT task_type FROM task_config WHERE task_type IN (\(Self.placeholders(types.count))) AND enabled LOCK IN SHARE MODE",
                types.map(MySQLValue.string)
            ).rows.compactMap { $0.string("task_type") })
            var going = Set(rows.compactMap { row in row.string("task_type").flatMap { enabled.contains($0) ? row.string("task_id") : nil } })
            // Left out: a task with an ended parent that stays ended, until none is left to leave out.
            var changed = true
            while changed {
                changed = false
                for child in going.sorted() {
                    guard let blocker = parentsOf[child]?.first(where: { !going.contains($0.parent) && Self.dependencyEnded.contains($0.status) }) else { continue }
                    outcome.blocked[child] = blocker
                    going.remove(child)
                    changed = true
                }
            }
            guard !going.isEmpty else { return outcome }
            let retrying = going.sorted()
            let open = retrying.map { child in (parentsOf[child] ?? []).filter { going.contains($0.parent) || $0.status != .succeeded }.count }
            let waitingValue: (sql: String, binds: [MySQLValue]) =
                open.allSatisfy({ $0 == 0 }) ? ("0", [])
                : KeyedCase.sql(column: "task_id", keys: retrying, values: open.map { .int(Int64($0)) })
            let updated = try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET waiting_on = \(waitingValue.sql), status = IF(waiting_on > 0, ?, ?),
                  priority = COALESCE(?, priority), retry_base = attempt, worker_losses = 0, result = NULL, error = NULL, finished_at = NULL,
                  run_at = NULL, retry_at = NULL, blocked_by = NULL, generation = generation + 1, updated_at = ?
                WHERE task_id IN (\(Self.placeholders(retrying.count))) AND status = ?
                  AND EXISTS (SELECT 1 FROM task_config WHERE task_config.task_type = task.task_type AND task_config.enabled)
                """,
                waitingValue.binds + [.int(Int64(TaskStatus.waiting.rawValue)), .int(Int64(TaskStatus.queued.rawValue)), priorityValue, .date(now)]
                    + retrying.map(MySQLValue.string) + [.int(Int64(status.rawValue))]
            )
            guard updated.affectedRows > 0 else { return outcome }
            outcome.retried = try trip.execute(
                "SELECT \(Self.selectColumns) FROM task WHERE task_id IN (\(Self.placeholders(retrying.count))) AND status IN (?, ?) AND updated_at = ?",
                retrying.map(MySQLValue.string) + [.int(Int64(TaskStatus.queued.rawValue)), .int(Int64(TaskStatus.waiting.rawValue)), .date(now)]
            ).rows.map(Self.record)
            try Self.addFinished(Self.finishedDeltas(outcome.retried.map { ($0.tenant, status) }, sign: -1), in: trip)
            outcome.revived = try Self.reviveDependents(of: outcome.retried.filter(\.hasDependents).map(\.taskID), now: now, in: trip)
            return outcome
        }
    }

    /// Puts back tasks a retry changed whose queueing then failed (Redis
    /// away), in one transaction: each row as before, unless something
    /// changed it since; the dependents the retry brought back end
    /// CANCELLED again, naming it (see `settleDependents`); and a dependent
    /// put back CANCELLED names again the ended parent its error names
    /// (`blocked_by`), so retrying that parent still brings it back.
    public func undoRetry(_ before: [TaskRecord], retriedAt: Date, now: Date) async throws {
        guard !before.isEmpty else { return }
        try await self.mysql.transaction { trip in
            var undone: [TaskRecord] = []
            for task in before {
                let changed = try trip.execute(
                    """
                    UPDATE task FORCE INDEX (PRIMARY) SET status = ?, priority = ?, retry_base = ?, worker_losses = ?, result = ?, error = ?,
                      finished_at = ?, run_at = ?, waiting_on = 0, updated_at = ?
                    WHERE task_id = ? AND status IN (?, ?) AND updated_at = ?
                    """,
                    [
                        .int(Int64(task.status.rawValue)), .int(Int64(task.priority.rawValue)), .int(Int64(task.retryBase)),
                        .int(Int64(task.workerLosses)), MySQLValue(task.result), MySQLValue(task.error), MySQLValue(task.finishedAt),
                        MySQLValue(task.runAt), .date(task.updatedAt), .string(task.taskID), .int(Int64(TaskStatus.queued.rawValue)),
                        .int(Int64(TaskStatus.waiting.rawValue)), .date(retriedAt),
                    ]
                ).affectedRows
                if changed > 0 { undone.append(task) }
            }
            try Self.addFinished(Self.finishedDeltas(undone.map { ($0.tenant, $0.status) }), in: trip)
            _ = try Self.settleDependents(of: undone.filter(\.hasDependents).map { ($0.taskID, $0.status) }, now: now, in: trip)
            let dependents = undone.filter { !$0.dependsOn.isEmpty && $0.status == .cancelled }
            for (child, parents) in try Self.parentStatuses(of: dependents.map(\.taskID), in: trip) {
                let error = dependents.first { $0.taskID == child }?.error
                guard let named = parents.first(where: { Self.blockedMessage($0.parent, $0.status) == error }) else { continue }
                try trip.execute(
                    "UPDATE task FORCE INDEX (PRIMARY) SET blocked_by = ? WHERE task_id = ? AND status = ?",
                    [.string(named.parent), .string(child), .int(Int64(TaskStatus.cancelled.rawValue))]
                )
            }
        }
    }

    /// Cancels unfinished tasks; returns those this call cancelled, as they
    /// are now. Their WAITING dependents end CANCELLED with them, in the
    /// same transaction (see `settleDependents`).
    public func cancel(_ taskIDs: [String], reason: String, now: Date, running: [UnwrittenStart] = []) async throws -> [TaskRecord] {
        try await self.cancelSettling(taskIDs, reason: reason, now: now, running: running).cancelled
    }

    /// `cancel`, and the dependents that ended CANCELLED with them.
    public func cancelSettling(
        _ taskIDs: [String], reason: String, now: Date, running: [UnwrittenStart] = []
    ) async throws -> (cancelled: [TaskRecord], dependents: [TaskRecord]) {
        guard !taskIDs.isEmpty else { return ([], []) }
        return try await self.mysql.transaction { trip in try Self.cancel(taskIDs, reason: reason, now: now, running: running, in: trip) }
    }

    /// `cancelSettling`'s writes, inside a caller's transaction (a schedule's
    /// fire that supersedes its previous task cancels it in the fire's own).
    /// `running`: attempts workers run of some of them whose start is not
    /// written yet (their claims, read first): a row still waiting at that
    /// generation counts its attempt first, as a written start would have,
    /// so the row names the attempt and worker the cancel signal stops.
    static func cancel(
        _ taskIDs: [String], reason: String, now: Date, running: [UnwrittenStart] = [], in trip: MySQLTrip
    ) throws(MySQLError) -> (cancelled: [TaskRecord], dependents: [TaskRecord]) {
        guard !taskIDs.isEmpty else { return ([], []) }
        for attempt in running {
            try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET attempt = attempt + 1, worker_id = ?, started_at = ?
                WHERE task_id = ? AND generation = ? AND status IN (?, ?, ?)
                """,
                [.string(attempt.workerID), .date(attempt.startedAt), .string(attempt.taskID), .int(Int64(attempt.generation))]
                    + Self.statusValues(Self.startable)
            )
        }
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

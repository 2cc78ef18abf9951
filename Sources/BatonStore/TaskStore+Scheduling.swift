import BatonModel
import BatonMySQL
import Foundation

extension TaskStore {
    /// One task's dispatch: moved to `workerID`'s queue at `at` (cluster clock).
    public typealias Assignment = (taskID: String, workerID: String, at: Date)

    /// Records dispatch rounds: each task SCHEDULED on its worker, one
    /// statement per worker in one trip. Only tasks still waiting (QUEUED,
    /// RETRYING, or SCHEDULED from an earlier dispatch) and untouched since
    /// the earliest dispatch of the worker's group change: a task a worker
    /// already started keeps RUNNING, and one whose attempt failed meanwhile
    /// keeps RETRYING for its whole backoff. (A task touched between two of
    /// the group's rounds is left unmarked: SCHEDULED only says where a task
    /// waits, and the start accepts QUEUED alike. Per-row worker and time
    /// arms, `CASE task_id WHEN … END`, cost MariaDB a comparison per arm
    /// per row: a tenth of its instructions per task.) No log line: the row
    /// names the worker, and the worker's "started attempt N on worker W"
    /// line follows. Fenced: a deposed leader's marks never land.
    public func markScheduled(_ assignments: [Assignment], now: Date, fence: LeaderFence?) async throws {
        guard !assignments.isEmpty else { return }
        let waiting: [TaskStatus] = [.queued, .retrying, .scheduled]
        let groups = Dictionary(grouping: assignments, by: \.workerID).sorted { $0.key < $1.key }
        let statements = groups.map { workerID, group -> (sql: String, binds: [MySQLValue]) in
            let ids = StatementShape.padded(group).map { MySQLValue.string($0.taskID) }
            let since = group.map(\.at).min()!
            return (
                """
                UPDATE task FORCE INDEX (PRIMARY) SET status = ?, worker_id = ?, updated_at = ?
                WHERE status IN (\(Self.placeholders(waiting.count))) AND task_id IN (\(Self.placeholders(ids.count)))
                  AND updated_at <= ?\(Self.fenced(fence))
                """,
                [.int(Int64(TaskStatus.scheduled.rawValue)), .string(workerID), .date(now)] + Self.statusValues(waiting) + ids
                    + [.date(since)] + (fence?.values ?? [])
            )
        }
        if statements.count == 1 {
            try await self.mysql.execute(statements[0].sql, statements[0].binds)
        } else {
            try await self.mysql.transaction { trip in
                for statement in statements { try trip.execute(statement.sql, statement.binds) }
            }
        }
    }

    /// ` AND <fence condition>` for a leader's statement, or nothing.
    static func fenced(_ fence: LeaderFence?) -> String {
        fence == nil ? "" : " AND \(LeaderFence.condition)"
    }

    /// Records that the leader declared `workerID` dead: from this commit on,
    /// no start write of that worker lands (see `start`); one that raced it
    /// committed first, and the loss recorded next sees its rows.
    public func fenceWorker(_ workerID: String, cluster: String, now: Date) async throws {
        try await self.mysql.execute(
            "INSERT IGNORE INTO worker_fence (cluster, worker_id, fenced_at) VALUES (?, ?, ?)", [.string(cluster), .string(workerID), .date(now)]
        )
    }

    /// Forgets fences older than `before` (a dead incarnation's id is never used again).
    @discardableResult
    public func pruneWorkerFences(before: Date) async throws -> Int {
        Int(try await self.mysql.execute("DELETE FROM worker_fence WHERE fenced_at < ? LIMIT 1000", [.date(before)]).affectedRows)
    }

    /// Tasks that were running on a worker that died: each goes back to
    /// QUEUED for a new attempt, or to FAILED once it has lost `cap` workers.
    /// Returns the ids that failed, and the dependents their failure
    /// cancelled (the caller announces them: nobody else will).
    public func recordWorkerLoss(
        _ taskIDs: [String], workerID: String, cap: Int, now: Date, fence: LeaderFence?
    ) async throws -> (failed: [String], cancelled: [TaskRecord]) {
        try await self.recordWorkerLoss(taskIDs.map { ($0, -1) }, workerID: workerID, cap: cap, now: now, fence: fence)
    }

    /// `recordWorkerLoss` of the worker's in-flight entries: a row still
    /// waiting at its entry's generation counts the loss and the attempt
    /// too, as a RUNNING row has (an attempt younger than the deferred-start
    /// window has no start write: a task that kills its worker at once must
    /// still reach the cap, and its next attempt is the next number).
    public func recordWorkerLoss(
        _ entries: [AttemptStore.StartClaim], workerID: String, cap: Int, now: Date, fence: LeaderFence?
    ) async throws -> (failed: [String], cancelled: [TaskRecord]) {
        guard !entries.isEmpty else { return ([], []) }
        let live: [TaskStatus] = [.scheduled, .running]
        let ids = entries.map { MySQLValue.string($0.taskID) }
        let pairs = StatementShape.repeated("(?, ?)", count: entries.count)
        let claims = entries.flatMap { [MySQLValue.string($0.taskID), .int(Int64($0.generation))] }
        return try await self.mysql.transaction { trip in
            // SET clauses apply left to right: decide with the old worker_losses, then count.
            try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET
                  attempt = attempt + IF(status IN (?, ?, ?) AND (task_id, generation) IN (\(pairs)), 1, 0),
                  status = IF(worker_losses + 1 >= ?, ?, ?),
                  error = IF(worker_losses + 1 >= ?, CONCAT('worker lost ', worker_losses + 1, ' times'), error),
                  finished_at = IF(worker_losses + 1 >= ?, ?, finished_at),
                  worker_losses = worker_losses + 1,
                  updated_at = ?
                WHERE task_id IN (\(Self.placeholders(ids.count)))
                  AND ((worker_id = ? AND status IN (\(Self.placeholders(live.count))))
                    OR (status IN (?, ?, ?) AND (task_id, generation) IN (\(pairs))))\(Self.fenced(fence))
                """,
                Self.statusValues(Self.startable) + claims + [.int(Int64(cap)), .int(Int64(TaskStatus.failed.rawValue)), .int(Int64(TaskStatus.queued.rawValue)),
                 .int(Int64(cap)), .int(Int64(cap)), .date(now), .date(now)]
                    + ids + [.string(workerID)] + Self.statusValues(live) + Self.statusValues(Self.startable) + claims + (fence?.values ?? [])
            )
            let failed = try trip.execute(
                "SELECT task_id, tenant, updated_at, has_dependents FROM task WHERE status = ? AND task_id IN (\(Self.placeholders(ids.count)))",
                [.int(Int64(TaskStatus.failed.rawValue))] + ids
            ).rows
            let failedNow = failed.filter { $0.date("updated_at")?.microseconds == now.microseconds }
            try Self.addFinished(Self.finishedDeltas(failedNow.map { ($0.string("tenant") ?? Tenant.default, .failed) }), in: trip)
            // Their dependents end CANCELLED, naming them.
            let settled = try Self.settleDependents(
                of: failedNow.filter { $0.int("has_dependents") == 1 }.compactMap { $0.string("task_id").map { (taskID: $0, status: TaskStatus.failed) } }, now: now, in: trip
            )
            return (failed.compactMap { $0.string("task_id") }, settled.cancelled)
        }
    }

    /// RUNNING tasks past their timeout plus `grace` (nobody reported them):
    /// the RUNNING range of the status index (at most the cluster's
    /// capacity), its entries' updated_at checked before a row is read.
    public func overdue(now: Date, grace: TimeInterval, limit: Int) async throws -> [TaskRecord] {
        try await self.mysql.query(
            """
            SELECT \(Self.selectColumns) FROM task FORCE INDEX (\(Self.statusIndex))
            WHERE status = ? AND updated_at < ? AND started_at < ? - INTERVAL timeout_seconds SECOND
            LIMIT ?
            """,
            [.int(Int64(TaskStatus.running.rawValue)), .date(now.addingTimeInterval(-grace)), .date(now.addingTimeInterval(-grace)), .int(Int64(limit))]
        ).map(Self.record)
    }

    /// Where a sweep over tasks of one status stands: a place in its range
    /// of idx_task_status_tenant, in (tenant, task_id) order.
    public struct SweepPosition: Sendable, Equatable {
        public var tenant: String
        public var taskID: String

        public init(tenant: String, taskID: String) {
            self.tenant = tenant
            self.taskID = taskID
        }

        /// Before every task.
        public static let start = SweepPosition(tenant: "", taskID: "")
    }

    /// Tasks of `status` not touched since `before`, after `position`, in
    /// (tenant, task_id) order: a range of the status index, whose entries
    /// hold updated_at (only the rows that are stale are read), so any
    /// number of rows sharing one updated_at are passed a page at a time.
    public func stale(status: TaskStatus, before: Date, after position: SweepPosition?, limit: Int) async throws -> [TaskRecord] {
        try await self.page(TaskQuery(), status: status, after: position, before: before, limit: limit)
    }

    /// Ends an attempt: SUCCEEDED, FAILED, TIMEOUT or RETRYING, conditional
    /// on the task still RUNNING this attempt. Returns nil when it did not
    /// apply, else what it did to the task's dependents in the same
    /// transaction (the caller announces them: nobody else will).
    @discardableResult
    public func recordLeaderOutcome(
        _ taskID: String,
        tenant: String,
        attempt: Int,
        status: TaskStatus,
        result: String? = nil,
        error: String? = nil,
        retryAt: Date? = nil,
        now: Date,
        fence: LeaderFence? = nil
    ) async throws -> SettledDependents? {
        let finishedAt: MySQLValue = status.isTerminal ? .date(now) : .null
        // A scheduled retry waits anew: its next entry is of the next generation.
        let bump: Int64 = status == .retrying ? 1 : 0
        let binds: [MySQLValue] = [.int(Int64(status.rawValue)), MySQLValue(result), MySQLValue(error), finishedAt, .int(bump), MySQLValue(retryAt), .date(now),
                                   .string(taskID), .int(Int64(TaskStatus.running.rawValue)), .int(Int64(attempt))] + (fence?.values ?? [])
        return try await self.mysql.transaction { trip in
            let updated = try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET status = ?, result = ?, error = ?, finished_at = ?, generation = generation + ?, retry_at = ?, updated_at = ?
                WHERE task_id = ? AND status = ? AND attempt = ?\(Self.fenced(fence))
                """,
                binds
            )
            guard updated.affectedRows == 1 else { return nil }
            try Self.addFinished([TenantStatus(tenant, status): 1], in: trip)
            guard status.isTerminal else { return SettledDependents() }
            // Only a task with dependents has edges to read (a primary-key read; not the workers' hot path).
            let flagged = try trip.execute("SELECT has_dependents FROM task WHERE task_id = ?", [.string(taskID)]).rows.first?.int("has_dependents") == 1
            return flagged ? try Self.settleDependents(of: [(taskID, status)], now: now, in: trip) : SettledDependents()
        }
    }
}

extension TaskStore {
    /// Waiting tasks in id order after `afterID` (a full pass, used after Redis lost its data).
    public func waiting(afterID: String, limit: Int) async throws -> [TaskRecord] {
        let statuses: [TaskStatus] = [.pending, .queued, .scheduled, .retrying]
        return try await self.mysql.query(
            """
            SELECT \(Self.selectColumns) FROM task
            WHERE task_id > ? AND status IN (?, ?, ?, ?) ORDER BY task_id LIMIT ?
            """,
            [.string(afterID)] + statuses.map { .int(Int64($0.rawValue)) } + [.int(Int64(limit))]
        ).map(Self.record)
    }
}

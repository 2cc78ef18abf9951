import BatonModel
import BatonMySQL
import Foundation
import Logging

/// Tasks and their logs in MySQL. Every status write is conditional on the
/// state it expects, so a late writer never overwrites a newer state.
public struct TaskStore: Sendable {
    let mysql: StoreMySQL

    public init(mysql: MySQLClient) {
        self.mysql = StoreMySQL(client: mysql)
    }

    /// True when MySQL answers a trivial query (the health probe's question).
    public func ping() async -> Bool {
        await self.mysql.ping()
    }

    static let columns = [
        "task_id", "task_type", "priority", "payload", "status", "worker_id", "attempt", "max_retries",
        "timeout_seconds", "worker_losses", "result", "error", "idempotency_key", "created_at", "updated_at",
        "started_at", "finished_at", "run_at", "retry_base", "tenant", "traceparent",
    ]
    /// What reads return: the inserted columns, and those only later writes set.
    static let selectColumns = (columns + [
        "generation", "retry_at", "schedule_id", "scheduled_for", "depends_on", "has_dependents", "waiting_on", "blocked_by",
    ]).joined(separator: ", ")

    static func placeholders(_ count: Int) -> String {
        StatementShape.repeated("?", count: count)
    }

    static func statusValues(_ statuses: [TaskStatus]) -> [MySQLValue] {
        statuses.map { .int(Int64($0.rawValue)) }
    }

    /// Inserts new tasks in one transaction with multi-row statements. A
    /// repeated idempotency key throws `StoreError` of kind `.duplicateKey`
    /// and inserts nothing.
    public func insert(_ tasks: [TaskRecord]) async throws {
        guard !tasks.isEmpty else { return }
        let rows = tasks.map(Self.values)
        // Rows born finished (imports, tests) are counted with them; keys are taken with their rows.
        if tasks.contains(where: \.status.isTerminal) || tasks.contains(where: { $0.idempotencyKey != nil }) {
            try await self.mysql.withTransaction { session in
                try await Self.takeKeys(of: tasks, in: session)
                _ = try await session.insertRows(into: "task", columns: Self.columns, rows: rows)
                try await Self.addFinished(Self.finishedDeltas(tasks.map { ($0.tenant, $0.status) }), in: session)
            }
            return
        }
        if rows.count == 1 {
            try await self.mysql.execute(Self.insertOne, rows[0])
        } else {
            try await self.mysql.insertRows(into: "task", columns: Self.columns, rows: rows)
        }
    }

    /// Inserts new tasks (CreateTask) in one transaction, in one trip to a
    /// connection, only if every task's type exists and is enabled at that
    /// moment: a locking read of their types' config rows (one primary-key
    /// read for the whole batch) holds DeleteTaskConfig, and a PutTaskConfig
    /// that disables the type, off until the rows are in. A delete then sees
    /// the new rows (and refuses), or went first, and these are refused with
    /// `TaskTypeUnavailable`, nothing inserted: a config cache seconds old
    /// cannot let an orphan task in. A repeated idempotency key throws
    /// `StoreError` of kind `.duplicateKey` and inserts nothing.
    public func insertNew(_ tasks: [TaskRecord]) async throws {
        guard !tasks.isEmpty else { return }
        let types = Array(Set(tasks.map(\.taskType)))
        let rows = tasks.map(Self.values)
        // The trip's errors reach the caller as StoreErrors: the missing
        // types come back as its answer (nothing written) instead.
        let missing = try await self.mysql.transaction { trip in
            let live = try trip.execute(
                "SELECT task_type FROM task_config WHERE task_type IN (\(Self.placeholders(types.count))) AND enabled LOCK IN SHARE MODE",
                types.map { .string($0) }
            ).rows.compactMap { $0.string("task_type") }
            let missing = Set(types).subtracting(live)
            guard missing.isEmpty else { return Array(missing) }
            try Self.takeKeys(of: tasks, in: trip)
            if rows.count == 1 {
                try trip.execute(Self.insertOne, rows[0])
            } else {
                try trip.insertRows(into: "task", columns: Self.columns, rows: rows)
            }
            return []
        }
        if !missing.isEmpty { throw TaskTypeUnavailable(taskTypes: missing) }
    }

    private static let insertOne =
        "INSERT INTO task (\(columns.joined(separator: ", "))) VALUES (\(placeholders(columns.count)))"

    /// Removes a task that never reached Redis (the push after its insert failed).
    public func deleteNeverQueued(_ taskID: String) async throws {
        try await self.mysql.execute(
            "DELETE FROM task WHERE task_id = ? AND status = ? AND attempt = 0",
            [.string(taskID), .int(Int64(TaskStatus.queued.rawValue))]
        )
    }

    /// One task, with its dependencies' results when it has dependencies.
    public func task(_ taskID: String) async throws -> TaskRecord? {
        guard let task = try await self.mysql.query("SELECT \(Self.selectColumns) FROM task WHERE task_id = ?", [.string(taskID)])
            .first.map(Self.record)
        else { return nil }
        return try await self.withDependencyResults([task])[0]
    }

    /// Tasks already holding these (tenant, type, idempotency key) triples.
    public func tasks(idempotencyKeys triples: [(tenant: String, taskType: String, key: String)]) async throws -> [TaskRecord] {
        guard !triples.isEmpty else { return [] }
        var found: [TaskRecord] = []
        // Chunks keep the statement shapes few and the placeholder count bounded.
        for start in stride(from: 0, to: triples.count, by: 100) {
            let chunk = triples[start..<min(start + 100, triples.count)]
            let binds = chunk.flatMap { [MySQLValue.string($0.taskType), .string($0.key), .string($0.tenant)] }
            let keys = StatementShape.repeated("(task_type = ? AND idempotency_key = ? AND tenant = ?)", count: chunk.count, separator: " OR ")
            found += try await self.mysql.query("SELECT \(Self.selectColumns) FROM \(Self.keyedTasks(keys))", binds).map(Self.record)
        }
        return found
    }

    /// One page of ListTasks: newest first (task ids are time-ordered) or
    /// oldest first, strictly past `afterID`. Every shape reads ordered
    /// index ranges, never a sort of a whole status (see `listQuery` and
    /// `listByStatus`).
    public func list(_ query: TaskQuery, afterID: String?, limit: Int) async throws -> [TaskRecord] {
        if query.scheduleID != nil || query.dependsOn != nil {
            return try await self.listAlong(query, afterID: afterID, limit: limit)
        }
        if Self.readsStatusRanges(query) {
            var query = query
            if query.statuses.isEmpty { query.statuses = TaskStatus.allCases }
            return try await self.listByStatus(query, afterID: afterID, limit: limit)
        }
        let (sql, binds) = Self.listQuery(query, afterID: afterID, limit: limit)
        return try await self.mysql.query(sql, binds).map(Self.record)
    }

    /// Statuses other than SUCCEEDED: unfinished tasks and dead letters, few
    /// next to the succeeded ones, read along a status index.
    static func isSparse(_ query: TaskQuery) -> Bool {
        !query.statuses.isEmpty && !query.statuses.contains(.succeeded)
    }

    /// A type's idempotency key: one row per tenant in `task_idempotency`.
    static func isKeyLookup(_ query: TaskQuery) -> Bool {
        query.idempotencyKey != nil && query.taskType != nil
    }

    /// Lists read as ranges of the status index, merged: the sparse
    /// statuses, and a tenant's tasks (of the statuses asked, or all) unless
    /// a type narrows them more.
    static func readsStatusRanges(_ query: TaskQuery) -> Bool {
        guard !Self.isKeyLookup(query) else { return false }
        return Self.isSparse(query) || (query.tenant != nil && query.taskType == nil)
    }

    /// The statement of a ListTasks page. The index is named, never left to
    /// the optimizer, which may walk the id index through every finished
    /// task to fill a LIMIT: a type's idempotency key (its few tasks, one
    /// per tenant, by primary key), then one tenant's tasks of one status
    /// (in id order on idx_task_status_tenant, its own rows only, no sort),
    /// then a type, then the id range of the creation times. Several
    /// statuses, or every tenant's, are read by `listByStatus`, one such
    /// range each.
    /// A worker filters the range chosen (no index of its own: it would cost
    /// every start an index write); so does a tenant within a type (types
    /// are mostly one service's own).
    static func listQuery(_ query: TaskQuery, afterID: String?, limit: Int) -> (sql: String, binds: [MySQLValue]) {
        var (filter, binds) = Self.listFilter(query, afterID: afterID)
        let ordered = "ORDER BY task_id \(Self.order(query)) LIMIT ?"
        binds.append(.int(Int64(limit)))
        if Self.isKeyLookup(query), let taskType = query.taskType, let key = query.idempotencyKey {
            return ("SELECT \(Self.selectColumns) FROM \(Self.keyedTasks("task_type = ? AND idempotency_key = ?")) \(filter) \(ordered)", [.string(taskType), .string(key)] + binds)
        }
        let index =
            query.tenant != nil && query.statuses.count == 1 && (query.taskType == nil || Self.isSparse(query)) ? Self.statusIndex
            : query.taskType != nil ? "idx_task_type_id"
            : "PRIMARY"
        return ("SELECT \(Self.selectColumns) FROM task FORCE INDEX (\(index)) \(filter) \(ordered)", binds)
    }

    /// The one index of `status` (migration 012): (status, tenant, task_id, updated_at).
    static let statusIndex = "idx_task_status_tenant"

    /// The WHERE clause of a ListTasks page (empty when nothing filters).
    static func listFilter(_ query: TaskQuery, afterID: String?) -> (sql: String, binds: [MySQLValue]) {
        var conditions: [String] = []
        var binds: [MySQLValue] = []
        func add(_ condition: String, _ values: [MySQLValue]) {
            conditions.append(condition)
            binds += values
        }
        if let tenant = query.tenant { add("tenant = ?", [.string(tenant)]) }
        if let key = query.idempotencyKey { add("idempotency_key = ?", [.string(key)]) }
        if let worker = query.workerID { add("worker_id = ?", [.string(worker)]) }
        if let taskType = query.taskType { add("task_type = ?", [.string(taskType)]) }
        if let scheduleID = query.scheduleID { add("schedule_id = ?", [.string(scheduleID)]) }
        if !query.statuses.isEmpty { add("status IN (\(Self.placeholders(query.statuses.count)))", Self.statusValues(query.statuses)) }
        if let after = query.createdAfter {
            add("task_id >= ? AND created_at >= ?", [.string(TaskID.bound(at: after, rounding: .down)), .date(after)])
        }
        if let before = query.createdBefore {
            add("task_id < ? AND created_at < ?", [.string(TaskID.bound(at: before, rounding: .up)), .date(before)])
        }
        if let afterID { add(query.oldestFirst ? "task_id > ?" : "task_id < ?", [.string(afterID)]) }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), binds)
    }

    static func order(_ query: TaskQuery) -> String {
        query.oldestFirst ? "ASC" : "DESC"
    }

    /// Cancels a task that has not finished: one conditional update. Returns
    /// the task as it is afterwards, and whether this call cancelled it.
    /// `running`: its attempt a worker runs unwritten (see `cancel(_:reason:now:running:in:)`).
    public func cancel(_ taskID: String, reason: String, now: Date = Date(), running: UnwrittenStart? = nil) async throws -> (task: TaskRecord?, cancelled: Bool) {
        let cancelled = try await self.cancelSettling([taskID], reason: reason, now: now, running: running.map { [$0] } ?? []).cancelled
        if let task = cancelled.first { return (task, true) }
        return (try await self.task(taskID), false)
    }

    // MARK: logs

    /// Oldest first, strictly after `afterID`.
    public func logs(_ taskID: String, afterID: Int64, limit: Int) async throws -> [TaskLogRecord] {
        try await self.mysql.query(
            """
            SELECT id, task_id, attempt, worker_id, level, message, created_at FROM task_logs
            WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?
            """,
            [.string(taskID), .int(afterID), .int(Int64(limit))]
        ).map { row in
            TaskLogRecord(
                id: row.int64("id") ?? 0,
                taskID: row.string("task_id") ?? "",
                attempt: row.int("attempt") ?? 0,
                workerID: row.string("worker_id") ?? "",
                level: row.string("level") ?? "",
                message: row.string("message") ?? "",
                createdAt: row.date("created_at") ?? Date(timeIntervalSince1970: 0)
            )
        }
    }

    /// Appends log lines with multi-row inserts.
    public func appendLogs(_ lines: [TaskLogRecord]) async throws {
        guard !lines.isEmpty else { return }
        try await self.mysql.insertRows(into: "task_logs", columns: Self.logColumns, rows: lines.map(Self.logValues))
    }

    /// `appendLogs` inside a caller's transaction.
    static func appendLogs(_ lines: [TaskLogRecord], in trip: MySQLTrip) throws(MySQLError) {
        guard !lines.isEmpty else { return }
        _ = try trip.insertRows(into: "task_logs", columns: Self.logColumns, rows: lines.map(Self.logValues))
    }

    private static let logColumns = ["task_id", "attempt", "worker_id", "level", "message", "created_at"]

    private static func logValues(_ line: TaskLogRecord) -> [MySQLValue] {
        [.string(line.taskID), .int(Int64(line.attempt)), .string(line.workerID), .string(line.level), .string(line.message), .date(line.createdAt)]
    }

    // MARK: rows

    static func values(_ task: TaskRecord) -> [MySQLValue] {
        [
            .string(task.taskID), .string(task.taskType), .int(Int64(task.priority.rawValue)),
            .string(StoredPayload.encode(payload: task.payload, args: task.args)), .int(Int64(task.status.rawValue)), MySQLValue(task.workerID),
            .int(Int64(task.attempt)), .int(Int64(task.maxRetries)), .int(Int64(task.timeoutSeconds)),
            .int(Int64(task.workerLosses)), MySQLValue(task.result), MySQLValue(task.error), MySQLValue(task.idempotencyKey),
            .date(task.createdAt), .date(task.updatedAt), MySQLValue(task.startedAt), MySQLValue(task.finishedAt),
            MySQLValue(task.runAt), .int(Int64(task.retryBase)), .string(task.tenant), MySQLValue(task.traceparent),
        ]
    }

    static func record(_ row: MySQLRow) -> TaskRecord {
        // Read in `selectColumns` order: a row finds each column by position
        // when it follows the one asked for before, and hashes its name
        // otherwise (five hashes a task when `payload` and `traceparent`
        // were read out of turn).
        let taskID = row.string("task_id") ?? ""
        let taskType = row.string("task_type") ?? ""
        let priority = TaskPriority(rawValue: row.int("priority") ?? 0) ?? .normal
        let stored = StoredPayload.decode(row.string("payload") ?? "{}")
        let status = TaskStatus(rawValue: row.int("status") ?? 0) ?? .pending
        let workerID = row.string("worker_id")
        let attempt = row.int("attempt") ?? 0
        let maxRetries = row.int("max_retries") ?? 0
        let timeoutSeconds = row.int("timeout_seconds") ?? 0
        let workerLosses = row.int("worker_losses") ?? 0
        let result = row.string("result")
        let error = row.string("error")
        let idempotencyKey = row.string("idempotency_key")
        let createdAt = row.date("created_at") ?? Date(timeIntervalSince1970: 0)
        let updatedAt = row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
        let startedAt = row.date("started_at")
        let finishedAt = row.date("finished_at")
        let runAt = row.date("run_at")
        let retryBase = row.int("retry_base") ?? 0
        let tenant = row.string("tenant") ?? Tenant.default
        let traceparent = row.string("traceparent")
        return TaskRecord(
            taskID: taskID, taskType: taskType, priority: priority, payload: stored.payload, args: stored.args, status: status, workerID: workerID,
            attempt: attempt, maxRetries: maxRetries, timeoutSeconds: timeoutSeconds, workerLosses: workerLosses, result: result, error: error,
            idempotencyKey: idempotencyKey, createdAt: createdAt, updatedAt: updatedAt, startedAt: startedAt, finishedAt: finishedAt, runAt: runAt,
            retryBase: retryBase, tenant: tenant,
            generation: row.int("generation") ?? 0,
            retryAt: row.date("retry_at"),
            scheduleID: row.string("schedule_id"),
            scheduledFor: row.date("scheduled_for"),
            dependsOn: row.string("depends_on").map(Self.dependencyList) ?? [],
            hasDependents: (row.int("has_dependents") ?? 0) != 0,
            waitingOn: row.int("waiting_on") ?? 0,
            blockedBy: row.string("blocked_by"),
            traceparent: traceparent
        )
    }
}

import BatonModel
import BatonMySQL
import Foundation
import Logging

/// Tasks and their logs in MySQL. Every status write is conditional on the
/// state it expects, so a late writer never overwrites a newer state.
public struct TaskStore: Sendable {
    public let mysql: MySQLClient

    public init(mysql: MySQLClient) {
        self.mysql = mysql
    }

    static let columns = [
        "task_id", "task_type", "priority", "payload", "status", "worker_id", "attempt", "max_retries",
        "timeout_seconds", "worker_losses", "result", "error", "idempotency_key", "created_at", "updated_at",
        "started_at", "finished_at", "run_at",
    ]
    static let selectColumns = columns.joined(separator: ", ")

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    static func statusValues(_ statuses: [TaskStatus]) -> [MySQLValue] {
        statuses.map { .int(Int64($0.rawValue)) }
    }

    /// Inserts new tasks in one transaction with multi-row statements. A
    /// repeated idempotency key throws `MySQLError` of kind `.duplicateKey`
    /// and inserts nothing.
    public func insert(_ tasks: [TaskRecord]) async throws {
        guard !tasks.isEmpty else { return }
        let rows = tasks.map(Self.values)
        if rows.count == 1 {
            try await self.mysql.execute(Self.insertOne, rows[0])
        } else {
            try await self.mysql.insertRows(into: "task", columns: Self.columns, rows: rows)
        }
    }

    private static let insertOne =
        "INSERT INTO task (\(selectColumns)) VALUES (\(placeholders(columns.count)))"

    /// Removes a task that never reached Redis (the push after its insert failed).
    public func deleteNeverQueued(_ taskID: String) async throws {
        try await self.mysql.execute(
            "DELETE FROM task WHERE task_id = ? AND status = ? AND attempt = 0",
            [.string(taskID), .int(Int64(TaskStatus.queued.rawValue))]
        )
    }

    public func task(_ taskID: String) async throws -> TaskRecord? {
        try await self.mysql.query("SELECT \(Self.selectColumns) FROM task WHERE task_id = ?", [.string(taskID)])
            .first.map(Self.record)
    }

    /// Tasks already holding these (type, idempotency key) pairs.
    public func tasks(idempotencyKeys pairs: [(taskType: String, key: String)]) async throws -> [TaskRecord] {
        guard !pairs.isEmpty else { return [] }
        var found: [TaskRecord] = []
        // Chunks keep the statement shapes few and the placeholder count bounded.
        for start in stride(from: 0, to: pairs.count, by: 100) {
            let chunk = pairs[start..<min(start + 100, pairs.count)]
            let conditions = Array(repeating: "(task_type = ? AND idempotency_key = ?)", count: chunk.count).joined(separator: " OR ")
            let binds = chunk.flatMap { [MySQLValue.string($0.taskType), .string($0.key)] }
            found += try await self.mysql.query("SELECT \(Self.selectColumns) FROM task WHERE \(conditions)", binds).map(Self.record)
        }
        return found
    }

    /// Newest first (task ids are time-ordered), strictly before `beforeID`.
    public func list(statuses: [TaskStatus], taskType: String?, beforeID: String?, limit: Int) async throws -> [TaskRecord] {
        var conditions: [String] = []
        var binds: [MySQLValue] = []
        if let taskType {
            conditions.append("task_type = ?")
            binds.append(.string(taskType))
        }
        if !statuses.isEmpty {
            conditions.append("status IN (\(Self.placeholders(statuses.count)))")
            binds += statuses.map { .int(Int64($0.rawValue)) }
        }
        if let beforeID {
            conditions.append("task_id < ?")
            binds.append(.string(beforeID))
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        binds.append(.int(Int64(limit)))
        // Unfinished tasks are few next to finished ones: read them through the
        // status index. Left alone, the optimizer may walk the id index
        // backwards through every finished task to fill the LIMIT.
        let unfinishedOnly = !statuses.isEmpty && statuses.allSatisfy { !$0.isTerminal }
        let index = unfinishedOnly ? "FORCE INDEX (idx_task_status_updated)" : ""
        return try await self.mysql.query(
            "SELECT \(Self.selectColumns) FROM task \(index) \(filter) ORDER BY task_id DESC LIMIT ?", binds
        ).map(Self.record)
    }

    /// Cancels a task that has not finished: one conditional update. Returns
    /// the task as it is afterwards, and whether this call cancelled it.
    public func cancel(_ taskID: String, reason: String, now: Date = Date()) async throws -> (task: TaskRecord?, cancelled: Bool) {
        let result = try await self.mysql.execute(
            """
            UPDATE task SET status = ?, error = ?, finished_at = ?, updated_at = ?
            WHERE task_id = ? AND status IN (\(Self.placeholders(TaskStatus.nonTerminal.count)))
            """,
            [.int(Int64(TaskStatus.cancelled.rawValue)), .string(reason), .date(now), .date(now), .string(taskID)]
                + Self.statusValues(TaskStatus.nonTerminal)
        )
        return (try await self.task(taskID), result.affectedRows == 1)
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
        try await self.mysql.insertRows(
            into: "task_logs",
            columns: ["task_id", "attempt", "worker_id", "level", "message", "created_at"],
            rows: lines.map { [.string($0.taskID), .int(Int64($0.attempt)), .string($0.workerID), .string($0.level), .string($0.message), .date($0.createdAt)] }
        )
    }

    // MARK: rows

    static func values(_ task: TaskRecord) -> [MySQLValue] {
        [
            .string(task.taskID), .string(task.taskType), .int(Int64(task.priority.rawValue)),
            .string(StringMapJSON.encode(task.payload)), .int(Int64(task.status.rawValue)), MySQLValue(task.workerID),
            .int(Int64(task.attempt)), .int(Int64(task.maxRetries)), .int(Int64(task.timeoutSeconds)),
            .int(Int64(task.workerLosses)), MySQLValue(task.result), MySQLValue(task.error), MySQLValue(task.idempotencyKey),
            .date(task.createdAt), .date(task.updatedAt), MySQLValue(task.startedAt), MySQLValue(task.finishedAt),
            MySQLValue(task.runAt),
        ]
    }

    static func record(_ row: MySQLRow) -> TaskRecord {
        TaskRecord(
            taskID: row.string("task_id") ?? "",
            taskType: row.string("task_type") ?? "",
            priority: TaskPriority(rawValue: row.int("priority") ?? 0) ?? .normal,
            payload: StringMapJSON.decode(row.string("payload") ?? "{}"),
            status: TaskStatus(rawValue: row.int("status") ?? 0) ?? .pending,
            workerID: row.string("worker_id"),
            attempt: row.int("attempt") ?? 0,
            maxRetries: row.int("max_retries") ?? 0,
            timeoutSeconds: row.int("timeout_seconds") ?? 0,
            workerLosses: row.int("worker_losses") ?? 0,
            result: row.string("result"),
            error: row.string("error"),
            idempotencyKey: row.string("idempotency_key"),
            createdAt: row.date("created_at") ?? Date(timeIntervalSince1970: 0),
            updatedAt: row.date("updated_at") ?? Date(timeIntervalSince1970: 0),
            startedAt: row.date("started_at"),
            finishedAt: row.date("finished_at"),
            runAt: row.date("run_at")
        )
    }
}

import BatonModel
import BatonMySQL
import Foundation

/// Task types in the `task_config` table.
public struct TaskConfigStore: Sendable {
    let mysql: StoreMySQL

    public init(mysql: MySQLClient) {
        self.mysql = StoreMySQL(client: mysql)
    }

    private static let written =
        "task_type, executor, endpoint, timeout_seconds, max_retries, retry_backoff_ms, max_concurrency, rate_limit_per_second, enabled, headers, updated_at, retention_hours"
    private static let columns = written + ", paused, limits_version"
    /// A new limits version: above the last, and on MySQL's clock (µs), so it
    /// also grows across a delete and re-create of the type.
    private static let nextVersion = "GREATEST(limits_version + 1, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED))"

    public func config(_ taskType: String) async throws -> TaskConfigRecord? {
        try await self.mysql.query("SELECT \(Self.columns) FROM task_config WHERE task_type = ?", [.string(taskType)])
            .first.flatMap(Self.record)
    }

    public func all() async throws -> [TaskConfigRecord] {
        try await self.mysql.query("SELECT \(Self.columns) FROM task_config ORDER BY task_type").compactMap(Self.record)
    }

    /// Creates or replaces the whole row, except `paused` (Pause/ResumeTaskType only).
    public func put(_ config: TaskConfigRecord) async throws {
        try await self.mysql.execute(
            """
            INSERT INTO task_config (\(Self.written), created_at, limits_version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED))
            ON DUPLICATE KEY UPDATE limits_version = \(Self.nextVersion), executor = VALUES(executor), endpoint = VALUES(endpoint),
              timeout_seconds = VALUES(timeout_seconds), max_retries = VALUES(max_retries),
              retry_backoff_ms = VALUES(retry_backoff_ms), max_concurrency = VALUES(max_concurrency),
              rate_limit_per_second = VALUES(rate_limit_per_second), enabled = VALUES(enabled),
              headers = VALUES(headers), updated_at = VALUES(updated_at), retention_hours = VALUES(retention_hours)
            """,
            [
                .string(config.taskType), .string(config.executor.rawValue), .string(config.endpoint),
                .int(Int64(config.timeoutSeconds)), .int(Int64(config.maxRetries)), .int(Int64(config.retryBackoffMs)),
                .int(Int64(config.maxConcurrency)), .int(Int64(config.rateLimitPerSecond)), .bool(config.enabled),
                .string(StringMapJSON.encode(config.headers)), .date(config.updatedAt), .int(Int64(config.retentionHours)),
                .date(config.updatedAt),
            ]
        )
    }

    /// Pauses or resumes a type; returns its row afterwards, or nil when there is none.
    public func setPaused(_ taskType: String, _ paused: Bool, now: Date) async throws -> TaskConfigRecord? {
        try await self.mysql.execute(
            "UPDATE task_config SET paused = ?, updated_at = ?, limits_version = \(Self.nextVersion) WHERE task_type = ?",
            [.bool(paused), .date(now), .string(taskType)]
        )
        return try await self.config(taskType)
    }

    /// Removes a type unless a task of it is unfinished (checked in the same
    /// statement, on the status index: the backlog is read, not the table).
    public enum Deletion: Sendable, Equatable { case deleted, notFound, hasUnfinishedTasks }

    public func delete(_ taskType: String) async throws -> Deletion {
        let result = try await self.mysql.execute(
            """
            DELETE FROM task_config WHERE task_type = ? AND NOT EXISTS (
              SELECT 1 FROM task FORCE INDEX (idx_task_status_tenant)
              WHERE status IN (\(TaskStore.placeholders(TaskStatus.nonTerminal.count))) AND task_type = ?)
            """,
            [.string(taskType)] + TaskStatus.nonTerminal.map { .int(Int64($0.rawValue)) } + [.string(taskType)]
        )
        if result.affectedRows == 1 { return .deleted }
        return try await self.config(taskType) == nil ? .notFound : .hasUnfinishedTasks
    }

    static func record(_ row: MySQLRow) -> TaskConfigRecord? {
        guard let taskType = row.string("task_type"), let executor = row.string("executor").flatMap(TaskConfigRecord.Executor.init) else {
            return nil
        }
        return TaskConfigRecord(
            taskType: taskType,
            executor: executor,
            endpoint: row.string("endpoint") ?? "",
            timeoutSeconds: row.int("timeout_seconds") ?? 60,
            maxRetries: row.int("max_retries") ?? 0,
            retryBackoffMs: row.int("retry_backoff_ms") ?? 1000,
            maxConcurrency: row.int("max_concurrency") ?? 0,
            rateLimitPerSecond: row.int("rate_limit_per_second") ?? 0,
            enabled: row.bool("enabled") ?? false,
            headers: StringMapJSON.decode(row.string("headers") ?? "{}"),
            updatedAt: row.date("updated_at") ?? Date(timeIntervalSince1970: 0),
            paused: row.bool("paused") ?? false,
            retentionHours: row.int("retention_hours") ?? 0,
            limitsVersion: UInt64(row.int("limits_version") ?? 0)
        )
    }
}

import BatonModel
import BatonMySQL
import Foundation

/// Task types in the `task_config` table.
public struct TaskConfigStore: Sendable {
    public let mysql: MySQLClient

    public init(mysql: MySQLClient) {
        self.mysql = mysql
    }

    private static let columns =
        "task_type, executor, endpoint, timeout_seconds, max_retries, retry_backoff_ms, max_concurrency, rate_limit_per_second, enabled, headers, updated_at"

    public func config(_ taskType: String) async throws -> TaskConfigRecord? {
        try await self.mysql.query("SELECT \(Self.columns) FROM task_config WHERE task_type = ?", [.string(taskType)])
            .first.flatMap(Self.record)
    }

    public func all() async throws -> [TaskConfigRecord] {
        try await self.mysql.query("SELECT \(Self.columns) FROM task_config ORDER BY task_type").compactMap(Self.record)
    }

    /// Creates or replaces the whole row.
    public func put(_ config: TaskConfigRecord) async throws {
        try await self.mysql.execute(
            """
            INSERT INTO task_config (\(Self.columns), created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE executor = VALUES(executor), endpoint = VALUES(endpoint),
              timeout_seconds = VALUES(timeout_seconds), max_retries = VALUES(max_retries),
              retry_backoff_ms = VALUES(retry_backoff_ms), max_concurrency = VALUES(max_concurrency),
              rate_limit_per_second = VALUES(rate_limit_per_second), enabled = VALUES(enabled),
              headers = VALUES(headers), updated_at = VALUES(updated_at)
            """,
            [
                .string(config.taskType), .string(config.executor.rawValue), .string(config.endpoint),
                .int(Int64(config.timeoutSeconds)), .int(Int64(config.maxRetries)), .int(Int64(config.retryBackoffMs)),
                .int(Int64(config.maxConcurrency)), .int(Int64(config.rateLimitPerSecond)), .bool(config.enabled),
                .string(StringMapJSON.encode(config.headers)), .date(config.updatedAt), .date(config.updatedAt),
            ]
        )
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
            updatedAt: row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
        )
    }
}

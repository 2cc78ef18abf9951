import BatonModel
import BatonMySQL
import Foundation

/// Retention: finished tasks go once their type's time is up. The janitor
/// works a type at a time along idx_task_type_id, reading only the rows
/// created before that type's own cutoff (task ids are time-ordered), so
/// the rows of a type kept for long are not read again on every pass
/// because another type's cutoff is shorter.
extension TaskStore {
    static let nextTaskTypeQuery =
        "SELECT task_type FROM task FORCE INDEX (idx_task_type_id) WHERE task_type > ? ORDER BY task_type LIMIT 1"

    /// The task types that have rows, types since deleted from task_config
    /// included: one index dive per type (skipping from each to the next),
    /// never the table, whatever the optimizer thinks of a DISTINCT.
    public func taskTypes() async throws -> [String] {
        var types: [String] = []
        while let next = try await self.mysql.query(Self.nextTaskTypeQuery, [.string(types.last ?? "")]).first?.string("task_type") {
            types.append(next)
        }
        return types
    }

    /// One page of `taskType`'s finished tasks last changed before `cutoff`,
    /// in id order after `afterID`: a range of idx_task_type_id that ends at
    /// the cutoff (a task is created before it is last changed), so rows of
    /// the type newer than its cutoff are never read. What the range holds
    /// beyond the page's rows is the few tasks created before the cutoff
    /// and changed after it (running then, retried since).
    public func expired(taskType: String, before cutoff: Date, afterID: String, limit: Int) async throws -> [String] {
        let (sql, binds) = Self.expiredQuery(taskType: taskType, before: cutoff, afterID: afterID, limit: limit)
        return try await self.mysql.query(sql, binds).compactMap { $0.string("task_id") }
    }

    static func expiredQuery(taskType: String, before cutoff: Date, afterID: String, limit: Int) -> (sql: String, binds: [MySQLValue]) {
        let terminal = TaskStatus.allCases.filter(\.isTerminal)
        return (
            """
            SELECT task_id FROM task FORCE INDEX (idx_task_type_id)
            WHERE task_type = ? AND task_id > ? AND task_id < ? AND status IN (\(Self.placeholders(terminal.count))) AND updated_at < ?
            ORDER BY task_id LIMIT ?
            """,
            [.string(taskType), .string(afterID), .string(TaskID.bound(at: cutoff, rounding: .up))] + Self.statusValues(terminal)
                + [.date(cutoff), .int(Int64(limit))]
        )
    }

    /// Deletes those of `taskIDs` (all of `taskType`) that are still due at
    /// `now`, with their log lines; returns how many went. The type's
    /// retention is read again here, under a shared lock on its config row
    /// (a change waits until this commits), and the cutoff it gives is part
    /// of the DELETE itself: a task retried, or whose type's retention grew,
    /// since the janitor read it stays.
    public func deleteExpired(_ taskIDs: [String], taskType: String, retention: Retention, now: Date) async throws -> Int {
        guard !taskIDs.isEmpty else { return 0 }
        let terminal = TaskStatus.allCases.filter(\.isTerminal)
        return try await self.mysql.withTransaction { session in
            let typeHours = try await session.execute(
                "SELECT retention_hours FROM task_config WHERE task_type = ? LOCK IN SHARE MODE", [.string(taskType)]
            ).rows.first.map { $0.int("retention_hours") ?? 0 }
            guard let cutoff = retention.cutoff(typeHours: typeHours, now: now) else { return 0 }
            let due = " AND task_type = ? AND status IN (\(Self.placeholders(terminal.count))) AND updated_at < ?"
            let dueBinds: [MySQLValue] = [.string(taskType)] + Self.statusValues(terminal) + [.date(cutoff)]
            // The rows that go, locked, with their tenants and statuses (for the counts).
            let going = try await session.execute(
                "SELECT task_id, tenant, status FROM task WHERE task_id IN (\(Self.placeholders(taskIDs.count)))\(due) FOR UPDATE",
                taskIDs.map { .string($0) } + dueBinds
            ).rows
            guard !going.isEmpty else { return 0 }
            let deleted = try await session.execute(
                "DELETE FROM task WHERE task_id IN (\(Self.placeholders(going.count)))\(due)",
                going.map { .string($0.string("task_id") ?? "") } + dueBinds
            ).affectedRows
            let counted = going.compactMap { row in
                TaskStatus(rawValue: row.int("status") ?? 0).map { (tenant: row.string("tenant") ?? Tenant.default, status: $0) }
            }
            try await Self.addFinished(Self.finishedDeltas(counted, sign: -1), in: session)
            // Their dependency edges (a range of idx_task_dependency_child each).
            _ = try await session.execute(
                "DELETE FROM task_dependency WHERE child_id IN (\(Self.placeholders(going.count)))"
                    + " AND NOT EXISTS (SELECT 1 FROM task WHERE task.task_id = task_dependency.child_id)",
                going.map { .string($0.string("task_id") ?? "") }
            )
            // Their idempotency keys (a dive into idx_task_idempotency_task each; most have none).
            _ = try await session.execute(
                "DELETE FROM task_idempotency WHERE task_id IN (\(Self.placeholders(going.count)))"
                    + " AND NOT EXISTS (SELECT 1 FROM task WHERE task.task_id = task_idempotency.task_id)",
                going.map { .string($0.string("task_id") ?? "") }
            )
            // Logs of the rows that went (a retried task's stay with it).
            _ = try await session.execute(
                """
                DELETE FROM task_logs WHERE task_id IN (\(Self.placeholders(taskIDs.count)))
                  AND NOT EXISTS (SELECT 1 FROM task WHERE task.task_id = task_logs.task_id)
                """,
                taskIDs.map { .string($0) }
            )
            return Int(deleted)
        }
    }
}

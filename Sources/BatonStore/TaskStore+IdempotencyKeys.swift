import BatonModel
import BatonMySQL

/// Idempotency keys in `task_idempotency` (migration 012), not in a unique
/// index of the task table: only a task that has a key pays for it (a
/// unique entry for every task cost ~41,000 MariaDB instructions per task).
/// The key's row is written in the transaction that inserts its task, before
/// it: a key already taken fails that insert with `duplicateKey`, and the
/// task is never written. It goes with its task (the retention janitor).
extension TaskStore {
    static let keyColumns = ["task_type", "idempotency_key", "tenant", "task_id"]

    /// The key rows of the tasks that carry one.
    static func keyRows(_ tasks: [TaskRecord]) -> [[MySQLValue]] {
        tasks.compactMap { task in
            task.idempotencyKey.map { [.string(task.taskType), .string($0), .string(task.tenant), .string(task.taskID)] }
        }
    }

    /// Takes the tasks' keys inside a one-trip transaction (nothing without keys).
    static func takeKeys(of tasks: [TaskRecord], in trip: MySQLTrip) throws(MySQLError) {
        let rows = Self.keyRows(tasks)
        guard !rows.isEmpty else { return }
        try trip.insertRows(into: "task_idempotency", columns: Self.keyColumns, rows: rows)
    }

    /// The same, in a transaction of sessions.
    static func takeKeys(of tasks: [TaskRecord], in session: MySQLSession) async throws {
        let rows = Self.keyRows(tasks)
        guard !rows.isEmpty else { return }
        try await session.insertRows(into: "task_idempotency", columns: Self.keyColumns, rows: rows)
    }

    /// The tasks whose keys match `condition` (on `task_idempotency`): its
    /// key rows by primary key first, then each task by its own (a semi-join
    /// left to the optimizer read the whole task table). The key table's
    /// columns are hidden inside the derived table, so the caller's
    /// unqualified columns and filters are the task's.
    static func keyedTasks(_ condition: String) -> String {
        "(SELECT task_id AS keyed_id FROM task_idempotency FORCE INDEX (PRIMARY) WHERE \(condition)) AS keyed"
            + " STRAIGHT_JOIN task FORCE INDEX (PRIMARY) ON task.task_id = keyed.keyed_id"
    }
}

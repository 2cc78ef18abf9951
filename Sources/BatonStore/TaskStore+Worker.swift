import BatonModel
import BatonMySQL
import Foundation

extension TaskStore {
    /// Starts tasks on a worker: each still waiting (QUEUED, SCHEDULED or
    /// RETRYING; never one that was cancelled or finished meanwhile) becomes
    /// RUNNING as its next attempt. Returns the tasks this call started.
    public func start(_ taskIDs: [String], workerID: String, now: Date) async throws -> [TaskRecord] {
        guard !taskIDs.isEmpty else { return [] }
        let ids = taskIDs.map(MySQLValue.string)
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        let running = MySQLValue.int(Int64(TaskStatus.running.rawValue))
        let result = try await self.mysql.execute(
            """
            UPDATE task SET status = ?, attempt = attempt + 1, started_at = ?, worker_id = ?, updated_at = ?
            WHERE status IN (?, ?, ?) AND task_id IN (\(marks))
            """,
            [running, .date(now), .string(workerID), .date(now),
             .int(Int64(TaskStatus.queued.rawValue)), .int(Int64(TaskStatus.scheduled.rawValue)), .int(Int64(TaskStatus.retrying.rawValue))] + ids
        )
        guard result.affectedRows > 0 else { return [] }
        // The start time (µs) and worker single out the rows this statement changed.
        return try await self.mysql.query(
            "SELECT \(Self.selectColumns) FROM task WHERE task_id IN (\(marks)) AND status = ? AND worker_id = ? AND started_at = ?",
            ids + [running, .string(workerID), .date(now)]
        ).map(Self.record)
    }

    /// Undoes the start of an attempt the worker hands back unfinished
    /// (graceful stop): QUEUED again, the attempt not spent.
    public func handBack(_ taskID: String, attempt: Int, now: Date = Date()) async throws -> Bool {
        try await self.mysql.execute(
            """
            UPDATE task SET status = ?, attempt = attempt - 1, started_at = NULL, updated_at = ?
            WHERE task_id = ? AND status = ? AND attempt = ?
            """,
            [.int(Int64(TaskStatus.queued.rawValue)), .date(now), .string(taskID), .int(Int64(TaskStatus.running.rawValue)), .int(Int64(attempt))]
        ).affectedRows == 1
    }
}

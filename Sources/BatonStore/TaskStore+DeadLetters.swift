import BatonModel
import BatonMySQL
import Foundation

/// The latest dead letters, for grouping by what went wrong.
extension TaskStore {
    /// One dead letter as a group needs it: no payload, no result.
    public struct DeadLetter: Sendable, Equatable {
        public var taskID: String
        public var taskType: String
        public var status: TaskStatus
        public var error: String
        public var updatedAt: Date
    }

    /// The `limit` tasks of `status` changed last (newest first), of
    /// `tenant` or every tenant's: a backward range of idx_task_status_updated.
    public func latestDead(status: TaskStatus, tenant: String?, limit: Int) async throws -> [DeadLetter] {
        let (sql, binds) = Self.latestDeadQuery(status: status, tenant: tenant, limit: limit)
        return try await self.mysql.query(sql, binds).map { row in
            DeadLetter(
                taskID: row.string("task_id") ?? "",
                taskType: row.string("task_type") ?? "",
                status: TaskStatus(rawValue: row.int("status") ?? 0) ?? status,
                error: row.string("error") ?? "",
                updatedAt: row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
            )
        }
    }

    static func latestDeadQuery(status: TaskStatus, tenant: String?, limit: Int) -> (sql: String, binds: [MySQLValue]) {
        var sql = """
            SELECT task_id, task_type, status, COALESCE(error, '') AS error, updated_at FROM task FORCE INDEX (idx_task_status_updated)
            WHERE status = ?
            """
        var binds: [MySQLValue] = [.int(Int64(status.rawValue))]
        if let tenant {
            sql += " AND tenant = ?"
            binds.append(.string(tenant))
        }
        sql += " ORDER BY updated_at DESC LIMIT ?"
        binds.append(.int(Int64(limit)))
        return (sql, binds)
    }
}

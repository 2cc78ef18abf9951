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

    /// The `limit` newest tasks of `status`: a tenant's, newest created first
    /// (task ids are time-ordered), a backward range of
    /// idx_task_tenant_status_id (its rows only); every tenant's, most
    /// recently changed first, a backward range of idx_task_status_updated.
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
            SELECT task_id, task_type, status, COALESCE(error, '') AS error, updated_at FROM task FORCE INDEX (\(tenant == nil ? "idx_task_status_updated" : "idx_task_tenant_status_id"))
            WHERE status = ?
            """
        var binds: [MySQLValue] = [.int(Int64(status.rawValue))]
        if let tenant {
            sql += " AND tenant = ?"
            binds.append(.string(tenant))
        }
        sql += tenant == nil ? " ORDER BY updated_at DESC LIMIT ?" : " ORDER BY task_id DESC LIMIT ?"
        binds.append(.int(Int64(limit)))
        return (sql, binds)
    }

    /// One bounded stretch of a walk along idx_task_status_updated: the
    /// next `limit` tasks of `status` after `position` (last changed before
    /// `before`) are examined whatever they hold, and those of `taskType`
    /// (and `tenant`) come back whole. A filter that matches nothing still
    /// costs `limit` index entries a call, never the whole status.
    public struct Examined: Sendable {
        /// The examined tasks that matched, in walk order.
        public var matched: [TaskRecord]
        /// How many were examined; fewer than the limit: the walk is done.
        public var examined: Int
        /// Where the next stretch starts (the last examined task's place).
        public var last: SweepPosition?
    }

    public func examine(
        status: TaskStatus, taskType: String, tenant: String?, after position: SweepPosition?, before: Date, limit: Int
    ) async throws -> Examined {
        let (sql, binds) = Self.examineQuery(status: status, taskType: taskType, tenant: tenant, after: position, before: before, limit: limit)
        let rows = try await self.mysql.query(sql, binds)
        let last = rows.last.map { SweepPosition(updatedAt: $0.date("e_at") ?? before, taskID: $0.string("e_id") ?? "") }
        return Examined(matched: rows.filter { $0.string("task_id") != nil }.map(Self.record), examined: rows.count, last: last)
    }

    /// The examined rows are a LIMITed range of the status index (task id and
    /// updated_at are in it: no row is read for them); only those are joined
    /// to their rows, where type and tenant are checked.
    static func examineQuery(
        status: TaskStatus, taskType: String, tenant: String?, after position: SweepPosition?, before: Date, limit: Int
    ) -> (sql: String, binds: [MySQLValue]) {
        let position = position ?? SweepPosition(updatedAt: Date(timeIntervalSince1970: 0), taskID: "")
        var sql = """
            SELECT examined.e_at, examined.e_id, \(Self.columns.map { "t.\($0)" }.joined(separator: ", "))
            FROM (
              SELECT task_id AS e_id, updated_at AS e_at FROM task FORCE INDEX (idx_task_status_updated)
              WHERE status = ? AND (updated_at > ? OR (updated_at = ? AND task_id > ?)) AND updated_at < ?
              ORDER BY updated_at, task_id LIMIT ?
            ) AS examined
            LEFT JOIN task AS t FORCE INDEX (PRIMARY) ON t.task_id = examined.e_id AND t.status = ? AND t.task_type = ?
            """
        var binds: [MySQLValue] = [
            .int(Int64(status.rawValue)), .date(position.updatedAt), .date(position.updatedAt), .string(position.taskID), .date(before),
            .int(Int64(limit)), .int(Int64(status.rawValue)), .string(taskType),
        ]
        if let tenant {
            sql += " AND t.tenant = ?"
            binds.append(.string(tenant))
        }
        sql += " ORDER BY examined.e_at, examined.e_id"
        return (sql, binds)
    }
}

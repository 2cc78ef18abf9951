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

    /// The `limit` newest tasks of `status` (task ids are time-ordered):
    /// a tenant's, a backward range of idx_task_status_tenant (its rows
    /// only); every tenant's, those ranges of each tenant holding the
    /// status, merged (as ListTasks reads them).
    public func latestDead(status: TaskStatus, tenant: String?, limit: Int) async throws -> [DeadLetter] {
        let tenants = if let tenant { [tenant] } else { try await self.tenants(holding: status) }
        guard !tenants.isEmpty else { return [] }
        var letters: [DeadLetter] = []
        for start in stride(from: 0, to: tenants.count, by: Self.rangesPerStatement) {
            let (sql, binds) = Self.latestDeadQuery(status: status, tenants: Array(tenants[start..<min(start + Self.rangesPerStatement, tenants.count)]), limit: limit)
            letters += try await self.mysql.query(sql, binds).map { row in
                DeadLetter(
                    taskID: row.string("task_id") ?? "",
                    taskType: row.string("task_type") ?? "",
                    status: TaskStatus(rawValue: row.int("status") ?? 0) ?? status,
                    error: row.string("error") ?? "",
                    updatedAt: row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
                )
            }
        }
        return Array(letters.sorted { $0.taskID > $1.taskID }.prefix(limit))
    }

    /// Each tenant's newest `limit` ids of the status (index ranges, no
    /// sort), then only those rows are read, newest first.
    static func latestDeadQuery(status: TaskStatus, tenants: [String], limit: Int) -> (sql: String, binds: [MySQLValue]) {
        let branch = "(SELECT task_id FROM task FORCE INDEX (\(Self.statusIndex)) WHERE status = ? AND tenant = ? ORDER BY task_id DESC LIMIT ?)"
        let sql = """
            SELECT t.task_id, t.task_type, t.status, COALESCE(t.error, '') AS error, t.updated_at
            FROM (SELECT task_id FROM (\(Array(repeating: branch, count: tenants.count).joined(separator: " UNION ALL "))) AS ranges ORDER BY task_id DESC LIMIT ?) AS newest
            JOIN task AS t FORCE INDEX (PRIMARY) ON t.task_id = newest.task_id
            ORDER BY t.task_id DESC
            """
        let binds: [MySQLValue] = tenants.flatMap { [.int(Int64(status.rawValue)), .string($0), .int(Int64(limit))] } + [.int(Int64(limit))]
        return (sql, binds)
    }

    /// One bounded stretch of a walk along idx_task_status_tenant: the
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
        let last = rows.last.map { SweepPosition(tenant: $0.string("e_tenant") ?? "", taskID: $0.string("e_id") ?? "") }
        return Examined(matched: rows.filter { $0.string("task_id") != nil }.map(Self.record), examined: rows.count, last: last)
    }

    /// The examined rows are a LIMITed range of the status index (tenant,
    /// task id and updated_at are in it: no row is read for them); only
    /// those are joined to their rows, where type and tenant are checked.
    static func examineQuery(
        status: TaskStatus, taskType: String, tenant: String?, after position: SweepPosition?, before: Date, limit: Int
    ) -> (sql: String, binds: [MySQLValue]) {
        var sql = """
            SELECT examined.e_tenant, examined.e_id, \(Self.columns.map { "t.\($0)" }.joined(separator: ", "))
            FROM (
              SELECT tenant AS e_tenant, task_id AS e_id FROM task FORCE INDEX (\(Self.statusIndex))
              WHERE status = ? AND \(Self.pastPosition) AND updated_at < ?
              ORDER BY tenant, task_id LIMIT ?
            ) AS examined
            LEFT JOIN task AS t FORCE INDEX (PRIMARY) ON t.task_id = examined.e_id AND t.status = ? AND t.task_type = ?
            """
        var binds: [MySQLValue] = [.int(Int64(status.rawValue))] + Self.pastPositionBinds(position ?? .start) + [
            .date(before), .int(Int64(limit)), .int(Int64(status.rawValue)), .string(taskType),
        ]
        if let tenant {
            sql += " AND t.tenant = ?"
            binds.append(.string(tenant))
        }
        sql += " ORDER BY examined.e_tenant, examined.e_id"
        return (sql, binds)
    }
}

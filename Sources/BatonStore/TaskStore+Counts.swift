import BatonModel
import BatonMySQL
import Foundation

/// Tasks per status at a cost independent of the table's size: finished
/// statuses from `task_status_count` (migrations 004, 006: per tenant),
/// unfinished ones counted on idx_task_status_tenant (the backlog only).
extension TaskStore {
    static let finished = TaskStatus.allCases.filter(\.isTerminal)

    /// The count changes of rows that reached (or, with sign -1, left) these statuses.
    static func finishedDeltas(_ rows: [(tenant: String, status: TaskStatus)], sign: Int = 1) -> [TenantStatus: Int] {
        Dictionary(rows.map { (TenantStatus($0.tenant, $0.status), sign) }, uniquingKeysWith: +)
    }

    /// Adds to the finished counts, in the caller's transaction (the one that
    /// changed the rows: a crash keeps both or neither). Unfinished statuses
    /// are ignored. Each connection adds to its own row: no waits.
    static func addFinished(_ deltas: [TenantStatus: Int], in session: MySQLSession) async throws {
        guard let statement = Self.countStatement(deltas) else { return }
        _ = try await session.execute(statement.sql, statement.binds)
    }

    /// The same, inside a one-trip transaction.
    static func addFinished(_ deltas: [TenantStatus: Int], in trip: MySQLTrip) throws(MySQLError) {
        guard let statement = Self.countStatement(deltas) else { return }
        _ = try trip.execute(statement.sql, statement.binds)
    }

    private static func countStatement(_ deltas: [TenantStatus: Int]) -> (sql: String, binds: [MySQLValue])? {
        // Sorted, so concurrent transactions lock the rows in one order.
        let rows = deltas.filter { $0.key.status.isTerminal && $0.value != 0 }
            .sorted { ($0.key.tenant, $0.key.status.rawValue) < ($1.key.tenant, $1.key.status.rawValue) }
        guard !rows.isEmpty else { return nil }
        return (
            "INSERT INTO task_status_count (tenant, status, shard, n) VALUES "
                + StatementShape.repeated("(?, ?, CONNECTION_ID(), ?)", count: rows.count)
                + " ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
            rows.flatMap { [MySQLValue.string($0.key.tenant), .int(Int64($0.key.status.rawValue)), .int(Int64($0.value))] }
        )
    }

    /// Tasks per status: every tenant's, or one tenant's. Unfinished tasks
    /// are counted on idx_task_status_tenant: the backlog's index entries (a
    /// tenant's: its own only), never the table.
    public func countsByStatus(tenant: String? = nil) async throws -> [TaskStatus: Int64] {
        let unfinishedBinds = TaskStatus.nonTerminal.map { MySQLValue.int(Int64($0.rawValue)) }
        let unfinishedSQL =
            "SELECT status, COUNT(*) AS n FROM task FORCE INDEX (\(Self.statusIndex)) WHERE status IN (\(Self.placeholders(TaskStatus.nonTerminal.count)))"
        async let finished =
            if let tenant {
                self.mysql.query("SELECT status, SUM(n) AS n FROM task_status_count WHERE tenant = ? GROUP BY status", [.string(tenant)])
            } else {
                self.mysql.query("SELECT status, SUM(n) AS n FROM task_status_count GROUP BY status")
            }
        async let unfinished =
            if let tenant {
                self.mysql.query(unfinishedSQL + " AND tenant = ? GROUP BY status", unfinishedBinds + [.string(tenant)])
            } else {
                self.mysql.query(unfinishedSQL + " GROUP BY status", unfinishedBinds)
            }
        var counts: [TaskStatus: Int64] = [:]
        for row in try await finished + unfinished {
            if let raw = row.int("status"), let status = TaskStatus(rawValue: raw) {
                counts[status, default: 0] += row.int64("n") ?? 0
            }
        }
        return counts
    }

    /// Finished tasks per tenant and status, from the counters alone (one
    /// short read of `task_status_count`, whatever the table's size).
    public func finishedCountsByTenant() async throws -> [String: [TaskStatus: Int64]] {
        var counts: [String: [TaskStatus: Int64]] = [:]
        for row in try await self.mysql.query("SELECT tenant, status, SUM(n) AS n FROM task_status_count GROUP BY tenant, status") {
            if let raw = row.int("status"), let status = TaskStatus(rawValue: raw), status.isTerminal {
                counts[row.string("tenant") ?? Tenant.default, default: [:]][status, default: 0] += row.int64("n") ?? 0
            }
        }
        return counts
    }

    /// Re-derives the finished counts: the table and the counters are read in
    /// one snapshot, and the difference is added (so changes committed
    /// meanwhile, which the store counts, are kept). Then folds the rows of
    /// closed connections into shard 0. Returns the corrections made, summed
    /// over tenants. Reads every finished row (for its tenant): run it seldom.
    @discardableResult
    public func auditCounts() async throws -> [TaskStatus: Int64] {
        let corrections = try await self.mysql.withTransaction { session -> [TenantStatus: Int64] in
            var truth: [TenantStatus: Int64] = [:]
            func key(_ row: MySQLRow) -> TenantStatus? {
                guard let raw = row.int("status"), let status = TaskStatus(rawValue: raw) else { return nil }
                return TenantStatus(row.string("tenant") ?? Tenant.default, status)
            }
            let finished = Self.finished.map { MySQLValue.int(Int64($0.rawValue)) }
            for row in try await session.execute(
                "SELECT tenant, status, COUNT(*) AS n FROM task WHERE status IN (\(Self.placeholders(finished.count))) GROUP BY tenant, status", finished
            ).rows {
                if let key = key(row) { truth[key, default: 0] += row.int64("n") ?? 0 }
            }
            for row in try await session.execute("SELECT tenant, status, SUM(n) AS n FROM task_status_count GROUP BY tenant, status").rows {
                if let key = key(row) { truth[key, default: 0] -= row.int64("n") ?? 0 }
            }
            let corrections = truth.filter { $0.value != 0 }
            for (key, delta) in corrections {
                _ = try await session.execute(
                    "INSERT INTO task_status_count (tenant, status, shard, n) VALUES (?, ?, 0, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
                    [.string(key.tenant), .int(Int64(key.status.rawValue)), .int(delta)]
                )
            }
            return corrections
        }
        try await self.foldClosedConnections()
        return Dictionary(corrections.map { ($0.key.status, $0.value) }, uniquingKeysWith: +)
    }

    /// Moves the counts of connections that are gone into shard 0, keeping
    /// the table as small as the number of live connections.
    func foldClosedConnections() async throws {
        let live = Set(try await self.mysql.query("SELECT ID AS id FROM information_schema.PROCESSLIST").compactMap { $0.int64("id") })
        let rows = try await self.mysql.query("SELECT tenant, status, shard FROM task_status_count WHERE shard > 0")
        let closed = rows.compactMap { row -> (tenant: String, status: Int64, shard: Int64)? in
            guard let tenant = row.string("tenant"), let status = row.int64("status"), let shard = row.int64("shard"), !live.contains(shard)
            else { return nil }
            return (tenant, status, shard)
        }
        for row in closed {
            try await self.mysql.withTransaction { session in
                let binds: [MySQLValue] = [.string(row.tenant), .int(row.status), .int(row.shard)]
                guard
                    let n = try await session.execute("SELECT n FROM task_status_count WHERE tenant = ? AND status = ? AND shard = ? FOR UPDATE", binds)
                        .rows.first?.int64("n")
                else { return }
                _ = try await session.execute(
                    "INSERT INTO task_status_count (tenant, status, shard, n) VALUES (?, ?, 0, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
                    [.string(row.tenant), .int(row.status), .int(n)]
                )
                _ = try await session.execute("DELETE FROM task_status_count WHERE tenant = ? AND status = ? AND shard = ?", binds)
            }
        }
    }
}

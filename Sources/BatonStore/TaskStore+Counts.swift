import BatonModel
import BatonMySQL
import Foundation

/// Tasks per status at a cost independent of the table's size: finished
/// statuses from `task_status_count` (migration 004), unfinished ones
/// counted on idx_task_status_updated (the backlog only).
extension TaskStore {
    static let finished = TaskStatus.allCases.filter(\.isTerminal)

    /// Adds to the finished counts, in the caller's transaction (the one that
    /// changed the rows: a crash keeps both or neither). Unfinished statuses
    /// are ignored. Each connection adds to its own row: no waits.
    static func addFinished(_ deltas: [TaskStatus: Int], in session: MySQLSession) async throws {
        guard let statement = Self.countStatement(deltas) else { return }
        _ = try await session.execute(statement.sql, statement.binds)
    }

    /// The same, inside a one-trip transaction.
    static func addFinished(_ deltas: [TaskStatus: Int], in trip: MySQLTrip) throws(MySQLError) {
        guard let statement = Self.countStatement(deltas) else { return }
        _ = try trip.execute(statement.sql, statement.binds)
    }

    private static func countStatement(_ deltas: [TaskStatus: Int]) -> (sql: String, binds: [MySQLValue])? {
        let rows = deltas.filter { $0.key.isTerminal && $0.value != 0 }.sorted { $0.key.rawValue < $1.key.rawValue }
        guard !rows.isEmpty else { return nil }
        return (
            "INSERT INTO task_status_count (status, shard, n) VALUES "
                + Array(repeating: "(?, CONNECTION_ID(), ?)", count: rows.count).joined(separator: ", ")
                + " ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
            rows.flatMap { [MySQLValue.int(Int64($0.key.rawValue)), .int(Int64($0.value))] }
        )
    }

    public func countsByStatus() async throws -> [TaskStatus: Int64] {
        async let finished = self.mysql.query("SELECT status, SUM(n) AS n FROM task_status_count GROUP BY status")
        async let unfinished = self.mysql.query(
            "SELECT status, COUNT(*) AS n FROM task WHERE status IN (\(Self.placeholders(TaskStatus.nonTerminal.count))) GROUP BY status",
            TaskStatus.nonTerminal.map { .int(Int64($0.rawValue)) }
        )
        var counts: [TaskStatus: Int64] = [:]
        for row in try await finished + unfinished {
            if let raw = row.int("status"), let status = TaskStatus(rawValue: raw) {
                counts[status, default: 0] += row.int64("n") ?? 0
            }
        }
        return counts
    }

    /// Re-derives the finished counts: the table and the counters are read in
    /// one snapshot, and the difference is added (so changes committed
    /// meanwhile, which the triggers count, are kept). Then folds the rows of
    /// closed connections into shard 0. Returns the corrections made.
    /// Reads every finished row's index entry: run it seldom.
    @discardableResult
    public func auditCounts() async throws -> [TaskStatus: Int64] {
        let corrections = try await self.mysql.withTransaction { session -> [TaskStatus: Int64] in
            var truth: [TaskStatus: Int64] = [:]
            let finished = Self.finished.map { MySQLValue.int(Int64($0.rawValue)) }
            for row in try await session.execute(
                "SELECT status, COUNT(*) AS n FROM task WHERE status IN (\(Self.placeholders(finished.count))) GROUP BY status", finished
            ).rows {
                if let raw = row.int("status"), let status = TaskStatus(rawValue: raw) { truth[status] = row.int64("n") ?? 0 }
            }
            for row in try await session.execute("SELECT status, SUM(n) AS n FROM task_status_count GROUP BY status").rows {
                if let raw = row.int("status"), let status = TaskStatus(rawValue: raw) { truth[status, default: 0] -= row.int64("n") ?? 0 }
            }
            let corrections = truth.filter { $0.value != 0 }
            for (status, delta) in corrections {
                _ = try await session.execute(
                    "INSERT INTO task_status_count (status, shard, n) VALUES (?, 0, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
                    [.int(Int64(status.rawValue)), .int(delta)]
                )
            }
            return corrections
        }
        try await self.foldClosedConnections()
        return corrections
    }

    /// Moves the counts of connections that are gone into shard 0, keeping
    /// the table as small as the number of live connections.
    func foldClosedConnections() async throws {
        let live = Set(try await self.mysql.query("SELECT ID AS id FROM information_schema.PROCESSLIST").compactMap { $0.int64("id") })
        let rows = try await self.mysql.query("SELECT status, shard FROM task_status_count WHERE shard > 0")
        let closed = rows.compactMap { row -> (status: Int64, shard: Int64)? in
            guard let status = row.int64("status"), let shard = row.int64("shard"), !live.contains(shard) else { return nil }
            return (status, shard)
        }
        for row in closed {
            try await self.mysql.withTransaction { session in
                let binds: [MySQLValue] = [.int(row.status), .int(row.shard)]
                guard let n = try await session.execute("SELECT n FROM task_status_count WHERE status = ? AND shard = ? FOR UPDATE", binds).rows.first?.int64("n")
                else { return }
                _ = try await session.execute(
                    "INSERT INTO task_status_count (status, shard, n) VALUES (?, 0, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)", [.int(row.status), .int(n)]
                )
                _ = try await session.execute("DELETE FROM task_status_count WHERE status = ? AND shard = ?", binds)
            }
        }
    }
}

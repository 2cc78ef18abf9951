import BatonModel
import BatonMySQL

/// ListTasks filtered by statuses other than SUCCEEDED (the backlog and the
/// dead letters), or by a tenant, read as ordered ranges of
/// idx_task_status_tenant: one per (status, tenant) the page can come from.
/// An admin's list spans every tenant: sorting a status's rows would
/// examine the whole status (a million FAILED rows for a page of fifty).
/// Reading each tenant's range in order and merging examines at most
/// `limit` rows per range, so a page costs the number of tenants holding
/// the status, not the status's size.
extension TaskStore {
    /// Ranges merged in one statement; more run as further statements.
    static let rangesPerStatement = 32

    /// The first tenant holding a status past a name: one dive into
    /// idx_task_status_tenant. (A loose scan, `SELECT DISTINCT tenant`,
    /// reads the same dives in one statement, but only when the optimizer's
    /// statistics favour it; on stale ones it reads the whole range.)
    static let nextTenantQuery =
        "SELECT tenant FROM task FORCE INDEX (idx_task_status_tenant) WHERE status = ? AND tenant > ? ORDER BY tenant LIMIT 1"

    func listByStatus(_ query: TaskQuery, afterID: String?, limit: Int) async throws -> [TaskRecord] {
        let ranges = try await self.statusRanges(query)
        if ranges.count == 1, let range = ranges.first {
            let (sql, binds) = Self.listQuery(Self.narrowed(query, to: range), afterID: afterID, limit: limit)
            return try await self.mysql.query(sql, binds).map(Self.record)
        }
        var ids: [String] = []
        for start in stride(from: 0, to: ranges.count, by: Self.rangesPerStatement) {
            let chunk = Array(ranges[start..<min(start + Self.rangesPerStatement, ranges.count)])
            let (sql, binds) = Self.mergedRangesQuery(query, ranges: chunk, afterID: afterID, limit: limit)
            ids += try await self.mysql.query(sql, binds).compactMap { $0.string("task_id") }
        }
        ids.sort(by: query.oldestFirst ? (<) : (>))
        let page = Array(ids.prefix(limit))
        guard !page.isEmpty else { return [] }
        // The rows themselves by primary key, only for the page: the ranges
        // read the index alone (payloads may be megabytes). A task that
        // changed status in between is shown as it is now, as a read a
        // moment later would show it; the page keeps its length, so its
        // token stays right.
        let rows = try await self.mysql.query(
            "SELECT \(Self.selectColumns) FROM task WHERE task_id IN (\(Self.placeholders(page.count)))",
            page.map { .string($0) }
        ).map(Self.record)
        let byID = Dictionary(rows.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
        return page.compactMap { byID[$0] }
    }

    /// The (status, tenant) ranges a query reads: its own tenant's, or
    /// those of every tenant holding the status.
    func statusRanges(_ query: TaskQuery) async throws -> [StatusRange] {
        var ranges: [StatusRange] = []
        for status in query.statuses {
            let tenants = if let tenant = query.tenant { [tenant] } else { try await self.tenants(holding: status) }
            ranges += tenants.map { StatusRange(tenant: $0, status: status) }
        }
        return ranges
    }

    /// Every tenant holding tasks of `status`, in name order: a round trip
    /// per tenant (tenants are the API keys' and tokens' few teams, not users).
    func tenants(holding status: TaskStatus) async throws -> [String] {
        var tenants: [String] = []
        var after = ""
        while let tenant = try await self.mysql.query(Self.nextTenantQuery, [.int(Int64(status.rawValue)), .string(after)]).first?.string("tenant") {
            tenants.append(tenant)
            after = tenant
        }
        return tenants
    }

    /// The ids of a page over several ranges: each range's first `limit` ids
    /// in order (no sort), then those few sorted together.
    static func mergedRangesQuery(
        _ query: TaskQuery, ranges: [StatusRange], afterID: String?, limit: Int
    ) -> (sql: String, binds: [MySQLValue]) {
        var branches: [String] = []
        var binds: [MySQLValue] = []
        for range in ranges {
            let (filter, filterBinds) = Self.listFilter(Self.narrowed(query, to: range), afterID: afterID)
            branches.append(
                "(SELECT task_id FROM task FORCE INDEX (\(Self.statusIndex)) \(filter) ORDER BY task_id \(Self.order(query)) LIMIT ?)"
            )
            binds += filterBinds + [.int(Int64(limit))]
        }
        binds.append(.int(Int64(limit)))
        let union = branches.joined(separator: " UNION ALL ")
        return ("SELECT task_id FROM (\(union)) AS ranges ORDER BY task_id \(Self.order(query)) LIMIT ?", binds)
    }

    static func narrowed(_ query: TaskQuery, to range: StatusRange) -> TaskQuery {
        var one = query
        one.tenant = range.tenant
        one.statuses = [range.status]
        return one
    }
}

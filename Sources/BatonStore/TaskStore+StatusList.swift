import BatonModel
import BatonMySQL

/// ListTasks filtered by statuses other than SUCCEEDED (the backlog and the
/// dead letters), read as ordered ranges of idx_task_tenant_status_id: one
/// per (tenant, status) the page can come from. An admin's list spans every
/// tenant: sorting the status's rows on idx_task_status_updated would
/// examine the whole status (a million FAILED rows for a page of fifty),
/// and an index of (status, task_id) of its own cost CreateTask too much
/// (see 007_tenant_indexes.sql). Reading each tenant's range in order and
/// merging examines at most `limit` rows per range, so a page costs the
/// number of tenants holding the status, not the status's size.
extension TaskStore {
    /// Ranges merged in one statement; more run as further statements.
    static let rangesPerStatement = 32

    /// The first tenant at or past a name, and the next one after a name:
    /// one dive into idx_task_tenant_id each. (A loose scan, `SELECT
    /// DISTINCT tenant`, reads the same dives in one statement, but only
    /// when the optimizer's statistics favour it; on stale ones it reads
    /// the whole index.)
    static let firstTenantQuery = "SELECT tenant FROM task FORCE INDEX (idx_task_tenant_id) WHERE tenant >= ? ORDER BY tenant LIMIT 1"
    static let nextTenantQuery = "SELECT tenant FROM task FORCE INDEX (idx_task_tenant_id) WHERE tenant > ? ORDER BY tenant LIMIT 1"

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

    /// The (tenant, status) ranges a query reads: its own tenant's, or every
    /// tenant's (a range that holds nothing costs one dive).
    func statusRanges(_ query: TaskQuery) async throws -> [StatusRange] {
        let tenants: [String]
        if let tenant = query.tenant { tenants = [tenant] } else { tenants = try await self.tenants() }
        return tenants.flatMap { tenant in query.statuses.map { StatusRange(tenant: tenant, status: $0) } }
    }

    /// Every tenant holding tasks, in name order: a round trip per tenant
    /// (tenants are the API keys' and tokens' few teams, not users).
    func tenants() async throws -> [String] {
        var tenants: [String] = []
        var next = try await self.mysql.query(Self.firstTenantQuery, [.string("")]).first?.string("tenant")
        while let tenant = next {
            tenants.append(tenant)
            next = try await self.mysql.query(Self.nextTenantQuery, [.string(tenant)]).first?.string("tenant")
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
                "(SELECT task_id FROM task FORCE INDEX (idx_task_tenant_status_id) \(filter) ORDER BY task_id \(Self.order(query)) LIMIT ?)"
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

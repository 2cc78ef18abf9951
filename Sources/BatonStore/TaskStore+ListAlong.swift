import BatonModel
import BatonMySQL

/// ListTasks by schedule or by dependency: task ids in id order from
/// another table's index (a schedule's fires on idx_schedule_fire_task, a
/// task's dependents on task_dependency's primary key), then those tasks by
/// primary key with the other filters. The task table has no index of its
/// own on either, so a plain CreateTask writes none.
extension TaskStore {
    /// Where a list's ids come from: a table, its index, the column naming
    /// the set (a schedule, a parent) and the column holding the task ids.
    struct IDSource {
        var table: String
        var index: String
        var key: String
        var id: String

        static let schedule = IDSource(table: "schedule_fire", index: "idx_schedule_fire_task", key: "schedule_id", id: "task_id")
        static let dependents = IDSource(table: "task_dependency", index: "PRIMARY", key: "parent_id", id: "child_id")
    }

    static func idsQuery(_ source: IDSource, oldestFirst: Bool, after: Bool) -> String {
        let bound = after ? " AND \(source.id) \(oldestFirst ? ">" : "<") ?" : ""
        return "SELECT \(source.id) AS task_id FROM \(source.table) FORCE INDEX (\(source.index)) WHERE \(source.key) = ?\(bound)"
            + " ORDER BY \(source.id) \(oldestFirst ? "ASC" : "DESC") LIMIT ?"
    }

    static func scheduleIDsQuery(oldestFirst: Bool, after: Bool) -> String {
        Self.idsQuery(.schedule, oldestFirst: oldestFirst, after: after)
    }

    /// The page of a query naming a parent (`dependsOn`) or a schedule: the
    /// parent's edges if both (the schedule then filters, as a column).
    func listAlong(_ query: TaskQuery, afterID: String?, limit: Int) async throws -> [TaskRecord] {
        var narrowed = query
        let source: IDSource
        let key: String
        if let parent = query.dependsOn {
            (source, key) = (.dependents, parent)
            narrowed.dependsOn = nil
        } else if let scheduleID = query.scheduleID {
            (source, key) = (.schedule, scheduleID)
            narrowed.scheduleID = nil
        } else {
            return []
        }
        let (filter, binds) = Self.listFilter(narrowed, afterID: nil)
        var page: [TaskRecord] = []
        var position = afterID
        // Chunks of ids until the page is full: the other filters (a
        // status, a worker) may leave some out.
        let chunk = max(limit, 100)
        while page.count < limit {
            let ids = try await self.mysql.query(
                Self.idsQuery(source, oldestFirst: query.oldestFirst, after: position != nil),
                [.string(key)] + (position.map { [.string($0)] } ?? []) + [.int(Int64(chunk))]
            ).compactMap { $0.string("task_id") }
            guard let last = ids.last else { break }
            let condition = "task_id IN (\(Self.placeholders(ids.count)))"
            let rows = try await self.mysql.query(
                "SELECT \(Self.selectColumns) FROM task \(filter.isEmpty ? "WHERE " : filter + " AND ")\(condition)",
                binds + ids.map { .string($0) }
            ).map(Self.record)
            let byID = Dictionary(rows.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
            page += ids.compactMap { byID[$0] }.prefix(limit - page.count)
            if ids.count < chunk { break }
            position = last
        }
        return page
    }
}

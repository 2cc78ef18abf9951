import BatonModel
import BatonMySQL

/// ListTasks by schedule: the schedule's fires in task id order
/// (idx_schedule_fire_task), then those tasks by primary key with the
/// other filters. The task table has no index of its own on schedule_id,
/// so a plain CreateTask writes none.
extension TaskStore {
    static func scheduleIDsQuery(oldestFirst: Bool, after: Bool) -> String {
        let bound = after ? (oldestFirst ? " AND task_id > ?" : " AND task_id < ?") : ""
        return "SELECT task_id FROM schedule_fire FORCE INDEX (idx_schedule_fire_task) WHERE schedule_id = ?\(bound) ORDER BY task_id \(oldestFirst ? "ASC" : "DESC") LIMIT ?"
    }

    func listBySchedule(_ query: TaskQuery, afterID: String?, limit: Int) async throws -> [TaskRecord] {
        guard let scheduleID = query.scheduleID else { return [] }
        var page: [TaskRecord] = []
        var position = afterID
        // Chunks of the schedule's ids until the page is full: the other
        // filters (a status, a worker) may leave some out.
        let chunk = max(limit, 100)
        while page.count < limit {
            let ids = try await self.mysql.query(
                Self.scheduleIDsQuery(oldestFirst: query.oldestFirst, after: position != nil),
                [.string(scheduleID)] + (position.map { [.string($0)] } ?? []) + [.int(Int64(chunk))]
            ).compactMap { $0.string("task_id") }
            guard let last = ids.last else { break }
            var narrowed = query
            narrowed.scheduleID = nil
            let (filter, binds) = Self.listFilter(narrowed, afterID: nil)
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

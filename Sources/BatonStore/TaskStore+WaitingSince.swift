import BatonModel
import BatonMySQL
import Foundation

extension TaskStore {
    /// Since when each of these tasks has waited to start, for those still
    /// waiting (an entry a cancel left behind has none): the later of its
    /// last status change and the time it became due (`run_at` before its
    /// first attempt, `retry_at` while RETRYING), since a task is not late
    /// before it is due. One primary-key read of a few columns per id: the
    /// backlog gauges ask for a handful of queue heads every few seconds.
    public func waitingSince(_ taskIDs: [String]) async throws -> [String: Date] {
        guard !taskIDs.isEmpty else { return [:] }
        var since: [String: Date] = [:]
        for row in try await self.mysql.query(Self.waitingSinceQuery(taskIDs.count), taskIDs.map { .string($0) }) {
            guard let taskID = row.string("task_id"), let raw = row.int("status"), let status = TaskStatus(rawValue: raw),
                Self.waitingStatuses.contains(status), let updated = row.date("updated_at")
            else { continue }
            let due = status == .retrying ? row.date("retry_at") : (row.int("attempt") == 0 ? row.date("run_at") : nil)
            since[taskID] = max(updated, due ?? updated)
        }
        return since
    }

    static let waitingStatuses: Set<TaskStatus> = [.pending, .queued, .retrying]

    static func waitingSinceQuery(_ count: Int) -> String {
        "SELECT task_id, status, attempt, updated_at, run_at, retry_at FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(count)))"
    }
}

import BatonModel
import BatonMySQL
import Foundation

/// A task a new task depends on: an existing task, or another item of the
/// same CreateTask batch ("#N").
public enum DependencyReference: Sendable, Hashable {
    case task(String)
    case item(Int)
}

/// Why a create with dependencies inserted nothing.
public enum DependencyRefusal: Error, Sendable, Equatable {
    /// Item `item` names a task that does not exist, or is another tenant's
    /// (answered alike: another tenant's task is one that does not exist).
    case unknown(item: Int, taskID: String)
    /// "#N" references that form a cycle.
    case cycle
}

/// What settling finished tasks' dependents changed, in the same transaction.
public struct SettledDependents: Sendable, Equatable {
    /// Released to QUEUED: to be enqueued once the transaction committed
    /// (if that push is lost, the reconciler finds them QUEUED and stale).
    public var released: [TaskRecord] = []
    /// Ended CANCELLED because a dependency failed (counted already).
    public var cancelled: [TaskRecord] = []

    public init() {}

    public var isEmpty: Bool { self.released.isEmpty && self.cancelled.isEmpty }
}

/// Dependencies: an edge table (`task_dependency`, migration 011) read only
/// for tasks that have dependents (`has_dependents`) or dependencies
/// (`depends_on`), so plain tasks never pay for it.
extension TaskStore {
    static let dependencyEnded: Set<TaskStatus> = [.failed, .timeout, .cancelled]

    static func dependencyList(_ text: String) -> [String] {
        text.split(separator: ",").map(String.init)
    }

    static let insertColumns = columns + ["depends_on", "has_dependents", "waiting_on", "blocked_by"]

    /// Inserts new tasks, some of which depend on existing tasks or on one
    /// another, in one transaction: the existing parents are read under a
    /// row lock (so none finishes unseen meanwhile: its outcome write waits,
    /// then sees the flag this sets), each new task is born QUEUED (every
    /// parent SUCCEEDED already), WAITING, or CANCELLED (a parent already
    /// ended FAILED, TIMEOUT or CANCELLED; the error names it). Refuses
    /// (nothing inserted) an unknown parent, another tenant's, and a cycle.
    /// Returns the tasks as inserted; the QUEUED ones are the caller's to
    /// enqueue. The drafts' types are checked as `insertNew` does.
    public func insertWithDependencies(_ drafts: [TaskRecord], dependsOn: [[DependencyReference]], now: Date) async throws -> [TaskRecord] {
        precondition(drafts.count == dependsOn.count)
        // Every item of a batch sent again was answered by its idempotency key.
        guard !drafts.isEmpty else { return [] }
        let items = dependsOn.map { $0.compactMap { if case .item(let n) = $0 { n } else { nil } } }
        for (item, named) in items.enumerated() {
            if let bad = named.first(where: { !drafts.indices.contains($0) }) { throw DependencyRefusal.unknown(item: item, taskID: "#\(bad)") }
        }
        guard let order = DependencyOrder.order(items) else { throw DependencyRefusal.cycle }
        let types = Array(Set(drafts.map(\.taskType)))
        let externals = Array(Set(dependsOn.flatMap { $0.compactMap { if case .task(let id) = $0 { id } else { nil } } })).sorted()
        enum Answer: Sendable {
            case inserted([TaskRecord])
            case missingTypes([String])
            case refused(DependencyRefusal)
        }
        let answer = try await self.mysql.transaction { trip -> Answer in
            let live = try trip.execute(
                "SELECT task_type FROM task_config WHERE task_type IN (\(Self.placeholders(types.count))) AND enabled LOCK IN SHARE MODE",
                types.map { .string($0) }
            ).rows.compactMap { $0.string("task_type") }
            let missing = Set(types).subtracting(live)
            guard missing.isEmpty else { return .missingTypes(Array(missing)) }
            var parents: [String: (tenant: String, status: TaskStatus)] = [:]
            if !externals.isEmpty {
                for row in try trip.execute(
                    "SELECT task_id, tenant, status FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(externals.count))) FOR UPDATE",
                    externals.map(MySQLValue.string)
                ).rows {
                    guard let id = row.string("task_id"), let status = row.int("status").flatMap(TaskStatus.init(rawValue:)) else { continue }
                    parents[id] = (row.string("tenant") ?? Tenant.default, status)
                }
                for (item, references) in dependsOn.enumerated() {
                    for case .task(let id) in references where parents[id]?.tenant != drafts[item].tenant {
                        return .refused(.unknown(item: item, taskID: id))
                    }
                }
                try trip.execute(
                    "UPDATE task FORCE INDEX (PRIMARY) SET has_dependents = 1 WHERE task_id IN (\(Self.placeholders(externals.count))) AND has_dependents = 0",
                    externals.map(MySQLValue.string)
                )
            }
            var tasks = drafts
            for item in items.joined() { tasks[item].hasDependents = true }
            for item in order {
                var seen = Set<String>()
                var ids: [String] = []
                var blocker: (id: String, status: TaskStatus)?
                for reference in dependsOn[item] {
                    let (id, status) =
                        switch reference {
                        case .task(let id): (id, parents[id]!.status)
                        case .item(let n): (tasks[n].taskID, tasks[n].status)
                        }
                    guard seen.insert(id).inserted else { continue }
                    ids.append(id)
                    if Self.dependencyEnded.contains(status) {
                        if blocker == nil { blocker = (id, status) }
                    } else if status != .succeeded {
                        tasks[item].waitingOn += 1
                    }
                }
                tasks[item].dependsOn = ids
                if let blocker {
                    tasks[item].status = .cancelled
                    tasks[item].error = Self.blockedMessage(blocker.id, blocker.status)
                    tasks[item].finishedAt = now
                    tasks[item].blockedBy = blocker.id
                } else {
                    tasks[item].status = tasks[item].waitingOn > 0 ? .waiting : .queued
                }
            }
            let rows = tasks.map { task in
                Self.values(task) + [
                    task.dependsOn.isEmpty ? .null : .string(task.dependsOn.joined(separator: ",")),
                    .int(task.hasDependents ? 1 : 0), .int(Int64(task.waitingOn)), MySQLValue(task.blockedBy),
                ]
            }
            try Self.takeKeys(of: tasks, in: trip)
            try trip.insertRows(into: "task", columns: Self.insertColumns, rows: rows)
            let edges = tasks.flatMap { task in task.dependsOn.map { [MySQLValue.string($0), .string(task.taskID)] } }
            if !edges.isEmpty { try trip.insertRows(into: "task_dependency", columns: ["parent_id", "child_id"], rows: edges) }
            try Self.addFinished(Self.finishedDeltas(tasks.filter(\.status.isTerminal).map { ($0.tenant, $0.status) }), in: trip)
            return .inserted(tasks)
        }
        switch answer {
        case .inserted(let tasks): return tasks
        case .missingTypes(let types): throw TaskTypeUnavailable(taskTypes: types)
        case .refused(let refusal): throw refusal
        }
    }

    static func blockedMessage(_ taskID: String, _ status: TaskStatus) -> String {
        "dependency \(taskID) ended \(status.wireName)"
    }

    /// The dependents of `parents`, one index range per parent (the edge
    /// table's primary key).
    static func edges(from parents: [String], in trip: MySQLTrip) throws(MySQLError) -> [(parent: String, child: String)] {
        guard !parents.isEmpty else { return [] }
        let ids = StatementShape.padded(parents)
        return try trip.execute(Self.edgesQuery(ids.count), ids.map(MySQLValue.string)).rows.compactMap { row in
            guard let parent = row.string("parent_id"), let child = row.string("child_id") else { return nil }
            return (parent, child)
        }
    }

    /// Settles the dependents of tasks that just reached a terminal status,
    /// in the transaction that wrote it: each success counts down its
    /// WAITING dependents' `waiting_on` (under their row locks, so the
    /// parents of a fan-in finishing at once serialize there and exactly
    /// one of them sees 0) and releases those at 0 to QUEUED; a FAILED,
    /// TIMEOUT or CANCELLED parent ends its WAITING dependents CANCELLED
    /// naming it, and theirs in turn, down the graph. Callers pass only rows
    /// that have dependents (`has_dependents`).
    static func settleDependents(of parents: [(taskID: String, status: TaskStatus)], now: Date, in trip: MySQLTrip) throws(MySQLError) -> SettledDependents {
        var settled = SettledDependents()
        let waiting = MySQLValue.int(Int64(TaskStatus.waiting.rawValue))
        let succeeded = parents.filter { $0.status == .succeeded }.map(\.taskID)
        let edges = try Self.edges(from: succeeded, in: trip)
        if !edges.isEmpty {
            let counts = Dictionary(edges.map { ($0.child, 1) }, uniquingKeysWith: +)
            let children = StatementShape.padded(counts.keys.sorted())
            let ids = children.map(MySQLValue.string)
            let decrement = KeyedCase.sql(column: "task_id", keys: children, values: children.map { .int(Int64(counts[$0]!)) })
            // SET applies left to right: the status reads the new count.
            try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET waiting_on = waiting_on - \(decrement.sql),
                  status = IF(waiting_on <= 0, ?, status), updated_at = ?
                WHERE task_id IN (\(Self.placeholders(ids.count))) AND status = ?
                """,
                decrement.binds + [.int(Int64(TaskStatus.queued.rawValue)), .date(now)] + ids + [waiting]
            )
            settled.released = try trip.execute(
                "SELECT \(Self.selectColumns) FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(ids.count))) AND status = ? AND updated_at = ?",
                ids + [.int(Int64(TaskStatus.queued.rawValue)), .date(now)]
            ).rows.map(Self.record)
        }
        var frontier = Dictionary(parents.filter { Self.dependencyEnded.contains($0.status) }.map { ($0.taskID, $0.status) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        while !frontier.isEmpty {
            var blocker: [String: String] = [:]
            for edge in try Self.edges(from: frontier.keys.sorted(), in: trip) where blocker[edge.child] == nil && !seen.contains(edge.child) {
                blocker[edge.child] = edge.parent
            }
            guard !blocker.isEmpty else { break }
            let children = blocker.keys.sorted()
            let ids = children.map(MySQLValue.string)
            let error = KeyedCase.sql(column: "task_id", keys: children, values: children.map { .string(Self.blockedMessage(blocker[$0]!, frontier[blocker[$0]!]!)) })
            let blockedBy = KeyedCase.sql(column: "task_id", keys: children, values: children.map { .string(blocker[$0]!) })
            try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET status = ?, error = \(error.sql), blocked_by = \(blockedBy.sql), finished_at = ?, updated_at = ?
                WHERE task_id IN (\(Self.placeholders(ids.count))) AND status = ?
                """,
                [.int(Int64(TaskStatus.cancelled.rawValue))]
                    + error.binds + blockedBy.binds
                    + [.date(now), .date(now)] + ids + [waiting]
            )
            let cancelled = try trip.execute(
                "SELECT \(Self.selectColumns) FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(ids.count))) AND status = ? AND updated_at = ?",
                ids + [.int(Int64(TaskStatus.cancelled.rawValue)), .date(now)]
            ).rows.map(Self.record).filter { seen.insert($0.taskID).inserted }
            try Self.addFinished(Self.finishedDeltas(cancelled.map { ($0.tenant, .cancelled) }), in: trip)
            settled.cancelled += cancelled
            frontier = Dictionary(cancelled.filter(\.hasDependents).map { ($0.taskID, TaskStatus.cancelled) }, uniquingKeysWith: { a, _ in a })
        }
        return settled
    }

    /// RetryTask of a dependency that had ended: the dependents its end
    /// cancelled (`blocked_by`) wait again, and theirs in turn, each
    /// counting the parents that have not SUCCEEDED. One still blocked by
    /// another ended parent stays CANCELLED, now naming that one. Returns
    /// the tasks back in WAITING.
    static func reviveDependents(of parents: [String], now: Date, in trip: MySQLTrip) throws(MySQLError) -> [TaskRecord] {
        var frontier = parents
        var revived: [TaskRecord] = []
        while !frontier.isEmpty {
            let children = Array(Set(try Self.edges(from: frontier, in: trip).map(\.child))).sorted()
            guard !children.isEmpty else { break }
            // Parents first, as an outcome write locks them (then their dependents).
            let parentsOf = try Self.parentStatuses(of: children, in: trip)
            let candidates = try trip.execute(
                """
                SELECT task_id, tenant FROM task FORCE INDEX (PRIMARY)
                WHERE task_id IN (\(Self.placeholders(children.count))) AND status = ? AND blocked_by IN (\(Self.placeholders(frontier.count))) FOR UPDATE
                """,
                children.map(MySQLValue.string) + [.int(Int64(TaskStatus.cancelled.rawValue))] + frontier.map(MySQLValue.string)
            ).rows.compactMap { row in row.string("task_id").map { ($0, row.string("tenant") ?? Tenant.default) } }
            guard !candidates.isEmpty else { break }
            var open: [String: Int] = [:]
            var ended: [String: (String, TaskStatus)] = [:]
            for (child, _) in candidates {
                for (parent, status) in parentsOf[child] ?? [] {
                    if Self.dependencyEnded.contains(status) {
                        ended[child] = ended[child] ?? (parent, status)
                    } else if status != .succeeded {
                        open[child, default: 0] += 1
                    }
                }
            }
            for (child, blocker) in ended {
                try trip.execute(
                    "UPDATE task FORCE INDEX (PRIMARY) SET error = ?, blocked_by = ?, updated_at = ? WHERE task_id = ? AND status = ?",
                    [.string(Self.blockedMessage(blocker.0, blocker.1)), .string(blocker.0), .date(now), .string(child), .int(Int64(TaskStatus.cancelled.rawValue))]
                )
            }
            let back = candidates.filter { ended[$0.0] == nil }
            guard !back.isEmpty else { break }
            let waitingOn = KeyedCase.sql(column: "task_id", keys: back.map(\.0), values: back.map { .int(Int64(open[$0.0] ?? 0)) })
            try trip.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET status = ?, error = NULL, finished_at = NULL, blocked_by = NULL, waiting_on = \(waitingOn.sql),
                  generation = generation + 1, updated_at = ?
                WHERE task_id IN (\(Self.placeholders(back.count))) AND status = ?
                """,
                [.int(Int64(TaskStatus.waiting.rawValue))] + waitingOn.binds + [.date(now)]
                    + back.map { .string($0.0) } + [.int(Int64(TaskStatus.cancelled.rawValue))]
            )
            try Self.addFinished(Self.finishedDeltas(back.map { ($0.1, .cancelled) }, sign: -1), in: trip)
            revived += try trip.execute(
                "SELECT \(Self.selectColumns) FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(back.count)))",
                back.map { .string($0.0) }
            ).rows.map(Self.record)
            frontier = back.map(\.0)
        }
        return revived
    }

    /// The parents of `children` with their status, per child, read with a
    /// shared lock: the latest committed status (a snapshot read could show
    /// a parent RUNNING that has just SUCCEEDED, and a dependent would wait
    /// for an outcome already settled), and a parent's outcome write waits
    /// until this transaction, which may make its dependents WAITING, is
    /// done (its settling then sees them).
    static func parentStatuses(of children: [String], in trip: MySQLTrip) throws(MySQLError) -> [String: [(parent: String, status: TaskStatus)]] {
        guard !children.isEmpty else { return [:] }
        var parents: [String: [(parent: String, status: TaskStatus)]] = [:]
        for row in try trip.execute(Self.parentsQuery(children.count) + " LOCK IN SHARE MODE", children.map(MySQLValue.string)).rows {
            guard let child = row.string("child_id"), let parent = row.string("task_id"),
                  let status = row.int("status").flatMap(TaskStatus.init(rawValue:))
            else { continue }
            parents[child, default: []].append((parent, status))
        }
        return parents
    }

    /// The dependents of `count` parents: one range of the edge table's primary key each.
    static func edgesQuery(_ count: Int) -> String {
        "SELECT parent_id, child_id FROM task_dependency FORCE INDEX (PRIMARY) WHERE parent_id IN (\(Self.placeholders(count)))"
    }

    /// The parents of `count` tasks with their status and result: a range of
    /// idx_task_dependency_child each, then one primary-key read per parent
    /// (STRAIGHT_JOIN: with few task rows the optimizer would scan them first).
    static func parentsQuery(_ count: Int) -> String {
        """
        SELECT d.child_id, p.task_id, p.status, p.result FROM task_dependency d FORCE INDEX (idx_task_dependency_child)
        STRAIGHT_JOIN task p FORCE INDEX (PRIMARY) ON p.task_id = d.parent_id
        WHERE d.child_id IN (\(Self.placeholders(count)))
        """
    }

    /// Fills `dependencyResults` of the tasks that have dependencies (one
    /// read for all of them; none for tasks without).
    public func withDependencyResults(_ tasks: [TaskRecord]) async throws -> [TaskRecord] {
        let children = tasks.filter { !$0.dependsOn.isEmpty }.map(\.taskID)
        guard !children.isEmpty else { return tasks }
        let ids = StatementShape.padded(children)
        var results: [String: [String: String]] = [:]
        for row in try await self.mysql.query(
            Self.parentsQuery(ids.count) + " AND p.status = ?", ids.map(MySQLValue.string) + [.int(Int64(TaskStatus.succeeded.rawValue))]
        ) {
            guard let child = row.string("child_id"), let parent = row.string("task_id") else { continue }
            results[child, default: [:]][parent] = row.string("result") ?? ""
        }
        return tasks.map { task in
            var task = task
            if let found = results[task.taskID] { task.dependencyResults = found }
            return task
        }
    }
}

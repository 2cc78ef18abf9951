import BatonModel
import BatonProto
import BatonStore
import Foundation
import GRPCCore
import Metrics

/// CreateTask and BatchCreateTasks with `depends_on`: the new tasks are
/// born WAITING (QUEUED when every parent already SUCCEEDED, CANCELLED when
/// one already ended otherwise) in one transaction that also records the
/// edges; workers release them when their last parent succeeds.
extension TaskService {
    /// Each request's `depends_on` parsed: task ids, or "#N" (batches only)
    /// naming another item. Refuses malformed entries, "#N" out of range or
    /// naming the item itself, too many entries, and "#N" cycles.
    func dependencyReferences(_ requests: [Baton_V1_CreateTaskRequest], items: Bool) throws -> [[DependencyReference]] {
        var all: [[DependencyReference]] = []
        for (index, request) in requests.enumerated() {
            let field = items ? "tasks[\(index)].depends_on" : "depends_on"
            guard request.dependsOn.count <= self.validator.limits.maxDependsOn else {
                throw RPCErrors.invalid("\(field) holds \(request.dependsOn.count) entries; at most \(self.validator.limits.maxDependsOn) are allowed")
            }
            all.append(try request.dependsOn.enumerated().map { position, entry in
                if entry.hasPrefix("#") {
                    guard items else { throw RPCErrors.invalid("\(field)[\(position)] \"\(entry)\": \"#N\" names an item of a BatchCreateTasks call") }
                    guard let n = Int(entry.dropFirst()), requests.indices.contains(n), n != index else {
                        throw RPCErrors.invalid("\(field)[\(position)] \"\(entry)\" names no other item of this batch (items #0…#\(requests.count - 1))")
                    }
                    return .item(n)
                }
                guard TaskID.isWellFormed(entry) else { throw RPCErrors.invalid("\(field)[\(position)] must be a task id (a UUID) or \"#N\"") }
                return .task(entry)
            })
        }
        let batchReferences = all.map { $0.compactMap { if case .item(let n) = $0 { n } else { nil } } }
        guard DependencyOrder.order(batchReferences) != nil else {
            throw RPCErrors.invalid("depends_on: the batch's \"#N\" references form a cycle")
        }
        return all
    }

    /// Inserts the drafts and their edges in one transaction, then enqueues
    /// those born QUEUED. A draft whose idempotency key names an existing
    /// task gets that task back, and "#N" naming it names that task; one
    /// that repeats the key of an earlier item of the call is that item,
    /// for "#N" too. A batch sent again whole (a client's retry) inserts
    /// nothing and answers the tasks of the first.
    func commit(
        _ drafts: [TaskRecord], dependsOn references: [[DependencyReference]], items: Bool
    ) async throws -> [(task: TaskRecord, deduplicated: Bool)] {
        let now = drafts.map(\.createdAt).min() ?? self.broker.clock.now()
        for attempt in 1...3 {
            var plan = try await self.deduplicate(drafts)
            let fresh = plan.indices.filter { !plan[$0].deduplicated }
            // By task id: an item repeating an earlier item's key holds that item's draft.
            let position = Dictionary(uniqueKeysWithValues: fresh.enumerated().map { (plan[$1].task.taskID, $0) })
            let freshReferences = fresh.map { index in
                references[index].map { reference -> DependencyReference in
                    guard case .item(let n) = reference else { return reference }
                    return position[plan[n].task.taskID].map(DependencyReference.item) ?? .task(plan[n].task.taskID)
                }
            }
            let inserted: [TaskRecord]
            do {
                inserted = try await self.tasks.insertWithDependencies(fresh.map { drafts[$0] }, dependsOn: freshReferences, now: now)
            } catch let error as StoreError where error.kind == .duplicateKey && attempt < 3 {
                continue
            } catch let refusal as DependencyRefusal {
                switch refusal {
                case .unknown(let item, let taskID):
                    let field = items ? "tasks[\(fresh[item])].depends_on" : "depends_on"
                    throw RPCErrors.invalid("\(field) names task \(taskID), which does not exist")
                case .cycle:
                    throw RPCErrors.invalid("depends_on: the batch's \"#N\" references form a cycle")
                }
            }
            let insertedByID = Dictionary(uniqueKeysWithValues: inserted.map { ($0.taskID, $0) })
            for index in plan.indices { plan[index].task = insertedByID[plan[index].task.taskID] ?? plan[index].task }
            // Committed: should Redis not take the QUEUED ones now, the
            // leader's reconciler enqueues them (they are QUEUED in MySQL).
            // Undoing the rows would leave their parents' flags and edges.
            let queued = inserted.filter { $0.status == .queued }
            do {
                try await self.broker.enqueue(queued, now: now)
            } catch {
                self.logger.warning("could not enqueue new tasks; the reconciler will", metadata: ["tasks": "\(queued.count)", "error": "\(error)"])
            }
            for (type, count) in Dictionary(inserted.map { ($0.taskType, 1) }, uniquingKeysWith: +) {
                Counter(label: "baton_tasks_created_total", dimensions: [("type", type)]).increment(by: count)
            }
            return plan
        }
        throw RPCError(code: .aborted, message: "idempotency key contention; retry")
    }
}

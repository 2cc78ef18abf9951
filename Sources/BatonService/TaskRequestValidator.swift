import BatonModel
import BatonProto
import BatonStore
import Foundation
import SwiftProtobuf

/// Checks client input before anything is read or written. Every rejection
/// names the field; the caller turns it into INVALID_ARGUMENT.
struct TaskRequestValidator: Sendable {
    var limits: ValidationLimits

    /// A create request, checked on its own (the task type's configuration is
    /// checked by the caller). `item` prefixes messages inside a batch.
    func validate(_ request: Baton_V1_CreateTaskRequest, item: String = "", now: Date) throws(RPCErrorBox) {
        guard self.limits.isValidTaskType(request.taskType) else {
            throw RPCErrorBox("\(item)task_type must match \(self.limits.taskTypeRule)")
        }
        if case .UNRECOGNIZED(let value) = request.priority {
            throw RPCErrorBox("\(item)priority must be 0 (normal) or 1 (high), got \(value)")
        }
        guard request.payload.count <= self.limits.maxPayloadKeys else {
            throw RPCErrorBox("\(item)payload has \(request.payload.count) keys; at most \(self.limits.maxPayloadKeys) are allowed")
        }
        var payloadBytes = 0
        for (key, value) in request.payload {
            let keyBytes = key.utf8.count
            guard keyBytes >= 1, keyBytes <= self.limits.maxPayloadKeyBytes else {
                throw RPCErrorBox("\(item)payload keys must be 1-\(self.limits.maxPayloadKeyBytes) bytes")
            }
            payloadBytes += keyBytes + value.utf8.count
        }
        guard payloadBytes <= self.limits.maxPayloadBytes else {
            throw RPCErrorBox("\(item)payload is larger than \(self.limits.maxPayloadBytes) bytes")
        }
        guard request.idempotencyKey.utf8.count <= self.limits.maxIdempotencyKeyBytes else {
            throw RPCErrorBox("\(item)idempotency_key is longer than \(self.limits.maxIdempotencyKeyBytes) bytes")
        }
        if request.hasTimeoutSeconds, !(1...self.limits.maxTimeoutSeconds).contains(Int(request.timeoutSeconds)) {
            throw RPCErrorBox("\(item)timeout_seconds must be 1-\(self.limits.maxTimeoutSeconds)")
        }
        if request.hasMaxRetries, !(0...self.limits.maxRetries).contains(Int(request.maxRetries)) {
            throw RPCErrorBox("\(item)max_retries must be 0-\(self.limits.maxRetries)")
        }
        if request.hasRunAt {
            let runAt = request.runAt
            guard runAt.nanos >= 0, runAt.nanos < 1_000_000_000, runAt.seconds >= 0, runAt.seconds < 253_402_300_800 else {
                throw RPCErrorBox("\(item)run_at is not a valid timestamp")
            }
            guard runAt.date.timeIntervalSince(now) <= Double(self.limits.maxRunAtAheadSeconds) else {
                throw RPCErrorBox("\(item)run_at is more than \(self.limits.maxRunAtAheadSeconds / 86_400) days ahead")
            }
        }
    }

    /// A create's typed arguments as the JSON text stored and sent to
    /// executors; nil when it has none. The payload's limits hold for them
    /// (top-level keys, key length, bytes of the JSON text). A request with
    /// args and a non-empty payload is refused rather than merged: which one
    /// a handler reads would otherwise depend on the executor.
    func args(_ request: Baton_V1_CreateTaskRequest, item: String = "") throws(RPCErrorBox) -> String? {
        guard request.hasArgs else { return nil }
        guard request.payload.isEmpty else {
            throw RPCErrorBox("\(item)args and payload are both set; send typed arguments in args or strings in payload, not both")
        }
        let fields = request.args.fields
        guard fields.count <= self.limits.maxPayloadKeys else {
            throw RPCErrorBox("\(item)args has \(fields.count) keys; at most \(self.limits.maxPayloadKeys) are allowed")
        }
        for key in fields.keys where key.utf8.isEmpty || key.utf8.count > self.limits.maxPayloadKeyBytes {
            throw RPCErrorBox("\(item)args keys must be 1-\(self.limits.maxPayloadKeyBytes) bytes")
        }
        let text: String
        do {
            text = try StructJSON.encode(request.args)
        } catch {
            // A gRPC client can send what JSON cannot say (NaN, a value of no kind).
            throw RPCErrorBox("\(item)args is not a JSON object: \(error)")
        }
        guard text.utf8.count <= self.limits.maxPayloadBytes else {
            throw RPCErrorBox("\(item)args is larger than \(self.limits.maxPayloadBytes) bytes")
        }
        return text
    }

    /// Most seconds a create waits for its task (the contract's bound).
    static let maxWaitSeconds = 300

    /// A create's `wait_seconds`: 0 (answer at once) to `maxWaitSeconds`.
    func waitSeconds(_ value: Int32) throws(RPCErrorBox) -> Int {
        guard (0...Int32(Self.maxWaitSeconds)).contains(value) else {
            throw RPCErrorBox("wait_seconds must be 0-\(Self.maxWaitSeconds) (0: answer at once), got \(value)")
        }
        return Int(value)
    }

    /// The type must be configured and enabled.
    func validate(config: TaskConfigRecord?, taskType: String, item: String = "") throws(RPCErrorBox) {
        guard let config else { throw RPCErrorBox("\(item)task_type \"\(taskType)\" is not configured") }
        guard config.enabled else { throw RPCErrorBox("\(item)task_type \"\(taskType)\" is disabled") }
    }

    func validate(taskID: String) throws(RPCErrorBox) {
        guard TaskID.isWellFormed(taskID) else {
            throw RPCErrorBox("task_id must be a UUID (36 characters)")
        }
    }

    /// AIP-158: 0 means the default, above the maximum is clamped, negative is invalid.
    func pageSize(_ requested: Int32) throws(RPCErrorBox) -> Int {
        guard requested >= 0 else { throw RPCErrorBox("page_size must not be negative") }
        if requested == 0 { return self.limits.defaultPageSize }
        return min(Int(requested), self.limits.maxPageSize)
    }

    /// A ListTasks or bulk filter. `statuses` are wire numbers; empty strings mean "any".
    func query(
        statuses: [Int], taskType: String, createdAfter: Date?, createdBefore: Date?,
        workerID: String = "", idempotencyKey: String = "", scheduleID: String = "", dependsOn: String = "", oldestFirst: Bool = false,
        field: String = ""
    ) throws(RPCErrorBox) -> TaskQuery {
        var known: [TaskStatus] = []
        for raw in statuses {
            guard let status = TaskStatus(rawValue: raw) else { throw RPCErrorBox("\(field)statuses holds an unknown status \(raw)") }
            if !known.contains(status) { known.append(status) }
        }
        if !taskType.isEmpty, !self.limits.isValidTaskType(taskType) {
            throw RPCErrorBox("\(field)task_type must match \(self.limits.taskTypeRule)")
        }
        if let createdAfter, let createdBefore, createdAfter >= createdBefore {
            throw RPCErrorBox("\(field)created_after must be before created_before")
        }
        for (name, date) in [("created_after", createdAfter), ("created_before", createdBefore)] {
            if let date, date.timeIntervalSince1970 < 0 || date.timeIntervalSince1970 >= 253_402_300_800 {
                throw RPCErrorBox("\(field)\(name) is not a valid timestamp")
            }
        }
        guard workerID.utf8.count <= 128 else { throw RPCErrorBox("\(field)worker_id is longer than 128 bytes") }
        guard idempotencyKey.utf8.count <= self.limits.maxIdempotencyKeyBytes else {
            throw RPCErrorBox("\(field)idempotency_key is longer than \(self.limits.maxIdempotencyKeyBytes) bytes")
        }
        // A worker has no index of its own (it would cost every start one):
        // it filters a range another filter chooses.
        if !scheduleID.isEmpty, !ScheduleService.isValid(id: scheduleID) {
            throw RPCErrorBox("\(field)schedule_id must match \(ScheduleService.idRule)")
        }
        guard dependsOn.isEmpty || TaskID.isWellFormed(dependsOn) else { throw RPCErrorBox("\(field)depends_on must be a task id (a UUID)") }
        guard workerID.isEmpty || !known.isEmpty || !taskType.isEmpty || createdAfter != nil || createdBefore != nil || !scheduleID.isEmpty
            || !dependsOn.isEmpty
        else {
            throw RPCErrorBox("\(field)worker_id needs statuses, task_type, schedule_id, depends_on or a created_after/created_before range")
        }
        // Keys are unique per type, and found by type and key.
        guard idempotencyKey.isEmpty || !taskType.isEmpty else {
            throw RPCErrorBox("\(field)idempotency_key needs task_type (a key is unique within its type)")
        }
        return TaskQuery(
            statuses: known, taskType: taskType.isEmpty ? nil : taskType, createdAfter: createdAfter, createdBefore: createdBefore,
            workerID: workerID.isEmpty ? nil : workerID, idempotencyKey: idempotencyKey.isEmpty ? nil : idempotencyKey, oldestFirst: oldestFirst,
            scheduleID: scheduleID.isEmpty ? nil : scheduleID, dependsOn: dependsOn.isEmpty ? nil : dependsOn
        )
    }

    /// A reason logged on a task (cancel, retry).
    func validate(reason: String) throws(RPCErrorBox) {
        guard reason.utf8.count <= self.limits.maxCancelReasonBytes else {
            throw RPCErrorBox("reason is longer than \(self.limits.maxCancelReasonBytes) bytes")
        }
    }

    func priority(_ priority: Baton_V1_Priority) throws(RPCErrorBox) -> TaskPriority {
        switch priority {
        case .normal: .normal
        case .high: .high
        case .UNRECOGNIZED(let value): throw RPCErrorBox("priority must be 0 (normal) or 1 (high), got \(value)")
        }
    }

    /// Most tasks one bulk call touches, and its default.
    static let bulkLimit = 100_000
    static let bulkDefault = 10_000

    /// A bulk call's filter and limit. The filter must name statuses, a type
    /// or a creation range (never "every task" by omission); statuses must
    /// be ones the operation applies to.
    func bulk(_ request: Baton_V1_BulkTasksRequest, allowed: [TaskStatus]) throws(RPCErrorBox) -> (TaskQuery, Int) {
        let filter = request.filter
        guard !filter.statuses.isEmpty || !filter.taskType.isEmpty || filter.hasCreatedAfter || filter.hasCreatedBefore || !filter.scheduleID.isEmpty else {
            throw RPCErrorBox("filter must set statuses, task_type, created_after, created_before or schedule_id")
        }
        try self.validate(reason: request.reason)
        guard request.limit >= 0, request.limit <= Self.bulkLimit else { throw RPCErrorBox("limit must be 0-\(Self.bulkLimit) (0: \(Self.bulkDefault))") }
        let query = try self.query(
            statuses: filter.statuses.map(\.rawValue), taskType: filter.taskType,
            createdAfter: filter.hasCreatedAfter ? filter.createdAfter.date : nil,
            createdBefore: filter.hasCreatedBefore ? filter.createdBefore.date : nil, scheduleID: filter.scheduleID, field: "filter."
        )
        if let other = query.statuses.first(where: { !allowed.contains($0) }) {
            throw RPCErrorBox("filter.statuses holds \(other.wireName); this operation applies to \(allowed.map(\.wireName).joined(separator: ", "))")
        }
        return (query, request.limit == 0 ? Self.bulkDefault : Int(request.limit))
    }
}

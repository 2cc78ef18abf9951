import BatonModel
import BatonProto
import Foundation

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
}

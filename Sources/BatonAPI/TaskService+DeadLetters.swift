import BatonModel
import BatonProto
import BatonStore
import Foundation
import GRPCCore

/// Dead letters (FAILED and TIMEOUT tasks) grouped by what went wrong, and a
/// group run again: the dashboard's "what failed and why, retry it".
extension TaskService {
    public static let deadLetterStatuses: [TaskStatus] = [.failed, .timeout]
    public static let maxDeadLetterScan = 10_000
    /// Tasks one group retry changes at most.
    public static let maxGroupRetry = 10_000

    /// The latest `limit` dead letters of the caller's tenant (per status),
    /// grouped; how many were read.
    public func deadLetters(limit: Int) async throws -> (groups: [DeadLetterGroup], scanned: Int) {
        guard (1...Self.maxDeadLetterScan).contains(limit) else {
            throw RPCErrors.invalid("limit must be between 1 and \(Self.maxDeadLetterScan)")
        }
        let scope = Caller.current.scope
        let letters = try await RPCErrors.guarding("DeadLetters", logger: self.logger) {
            var letters: [TaskStore.DeadLetter] = []
            for status in Self.deadLetterStatuses {
                letters += try await self.tasks.latestDead(status: status, tenant: scope, limit: limit)
            }
            return letters.sorted { $0.updatedAt > $1.updatedAt }.prefix(limit)
        }
        let groups = DeadLetterGroup.group(letters.map { ($0.taskID, $0.taskType, $0.status, $0.error, $0.updatedAt) })
        return (groups, letters.count)
    }

    /// Retries every dead letter of the caller's tenant with this type,
    /// status and error (as grouped), up to `maxGroupRetry`.
    public func retryDeadLetters(taskType: String, status: Baton_V1_TaskStatus, error: String, reason: String) async throws -> Baton_V1_BulkTasksResponse {
        guard self.validator.limits.isValidTaskType(taskType) else {
            throw RPCErrors.invalid("taskType must match \(self.validator.limits.taskTypeRule)")
        }
        guard let status = TaskStatus(rawValue: status.rawValue), Self.deadLetterStatuses.contains(status) else {
            throw RPCErrors.invalid("status must be TASK_STATUS_FAILED or TASK_STATUS_TIMEOUT")
        }
        let key = DeadLetterGroup.key(error)
        let request = Baton_V1_BulkTasksRequest.with {
            $0.filter = .with {
                $0.statuses = [Baton_V1_TaskStatus(rawValue: status.rawValue) ?? .failed]
                $0.taskType = taskType
            }
            $0.limit = Int32(Self.maxGroupRetry)
            $0.reason = reason
        }
        return try await self.bulk(request, allowed: [status], operation: "RetryDeadLetters", matching: { DeadLetterGroup.key($0.error ?? "") == key }) { page, now in
            try await self.retryPage(page, at: now, reason: reason.isEmpty ? "dead-letter group" : reason, operation: "RetryDeadLetters")
        }
    }
}

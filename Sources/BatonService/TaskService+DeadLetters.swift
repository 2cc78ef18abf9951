import BatonAuth
import BatonModel
import BatonProto
import BatonStore
import Crypto
import Foundation
import GRPCCore

/// Dead letters (FAILED and TIMEOUT tasks) grouped by what went wrong, and a
/// group run again: the dashboard's "what failed and why, retry it".
extension TaskService {
    public static let deadLetterStatuses: [TaskStatus] = [.failed, .timeout]
    public static let maxDeadLetterScan = 10_000

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

    /// Dead letters one group-retry call examines at most (matching or
    /// not): a group whose error nothing matches any more costs this, never a
    /// walk of every FAILED row. Also the most it retries.
    public static let maxDeadLetterExamine = 10_000

    /// What a group retry did, and where the next call goes on.
    public struct DeadLetterRetry: Sendable {
        public var matched: Int
        public var changed: Int
        public var examined: Int
        /// Set when the walk stopped at `maxDeadLetterExamine`: pass it back
        /// to go on from there. Nil: every dead letter of the status was examined.
        public var nextPageToken: String?
    }

    /// Retries the dead letters of the caller's tenant with this type,
    /// status and error (as grouped), examining at most
    /// `maxDeadLetterExamine` of the status per call, oldest change first.
    /// Only tasks that were dead when the first call began are examined, so a
    /// retried task that fails again is not retried again by a continuation.
    public func retryDeadLetters(
        taskType: String, status: Baton_V1_TaskStatus, error: String, reason: String, pageToken: String = ""
    ) async throws -> DeadLetterRetry {
        try await self.retryDeadLetters(
            taskType: taskType, status: status, error: error, reason: reason, pageToken: pageToken, examining: Self.maxDeadLetterExamine
        )
    }

    /// The same, examining at most `examineLimit` per call (tests use less).
    func retryDeadLetters(
        taskType: String, status: Baton_V1_TaskStatus, error: String, reason: String, pageToken: String, examining examineLimit: Int
    ) async throws -> DeadLetterRetry {
        guard self.validator.limits.isValidTaskType(taskType) else {
            throw RPCErrors.invalid("taskType must match \(self.validator.limits.taskTypeRule)")
        }
        guard let status = TaskStatus(rawValue: status.rawValue), Self.deadLetterStatuses.contains(status) else {
            throw RPCErrors.invalid("status must be TASK_STATUS_FAILED or TASK_STATUS_TIMEOUT")
        }
        do {
            try self.validator.validate(reason: reason)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let key = DeadLetterGroup.key(error)
        let filter = Self.groupFilter(taskType: taskType, status: status, key: key)
        var (began, position): (Date, TaskStore.SweepPosition?)
        do {
            (began, position) = try Self.groupPosition(pageToken, filter: filter) ?? (self.broker.clock.now().roundedToMicroseconds, nil)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        let scope = Caller.current.scope
        var result = DeadLetterRetry(matched: 0, changed: 0, examined: 0, nextPageToken: nil)
        var done = false
        while !done && result.examined < examineLimit {
            let limit = min(Self.bulkPage, examineLimit - result.examined)
            let stretch = try await RPCErrors.guarding("RetryDeadLetters", logger: self.logger) {
                try await self.tasks.examine(status: status, taskType: taskType, tenant: scope, after: position, before: began, limit: limit)
            }
            result.examined += stretch.examined
            position = stretch.last ?? position
            done = stretch.examined < limit
            let group = stretch.matched.filter { DeadLetterGroup.key($0.error ?? "") == key }
            result.matched += group.count
            if !group.isEmpty {
                let now = self.broker.clock.now().roundedToMicroseconds
                result.changed += try await RPCErrors.guarding("RetryDeadLetters", logger: self.logger) {
                    try await self.retryPage(
                        group.map(\.taskID), at: now,
                        reason: reason.isEmpty ? "dead-letter group" : reason, operation: "RetryDeadLetters"
                    )
                }
            }
        }
        if !done, let position {
            result.nextPageToken = PageToken(filter: filter, position: Self.groupPosition(began: began, after: position)).encoded
        }
        self.logger.info(
            "dead-letter group retried",
            metadata: [
                "task_type": "\(taskType)", "matched": "\(result.matched)", "changed": "\(result.changed)", "examined": "\(result.examined)",
                "more": "\(!done)", "by": "\(Caller.description)",
            ]
        )
        return result
    }

    /// A continuation is bound to its group.
    private static func groupFilter(taskType: String, status: TaskStatus, key: String) -> String {
        let digest = SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
        // "by-tenant": the walk's position is (tenant, task id) since migration
        // 012; a token of the older (updated_at, task id) walk is refused
        // as issued for other filters, not read as a wrong place.
        return "deadletters-by-tenant|\(taskType)|\(status.rawValue)|\(digest)"
    }

    private static func groupPosition(began: Date, after position: TaskStore.SweepPosition) -> String {
        "\(began.microseconds)|\(position.taskID)|\(position.tenant)"
    }

    /// When the walk began and where it stopped; nil for no token.
    private static func groupPosition(_ token: String, filter: String) throws(RPCErrorBox) -> (Date, TaskStore.SweepPosition)? {
        guard let token = try PageToken.decode(token, filter: filter) else { return nil }
        // The tenant last: the rest of the token, whatever it holds.
        let parts = token.position.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let began = Int64(parts[0]) else {
            throw RPCErrorBox("page_token is not a token this server issued")
        }
        let date = Date(timeIntervalSince1970: Double(began) / 1_000_000).roundedToMicroseconds
        return (date, TaskStore.SweepPosition(tenant: String(parts[2]), taskID: String(parts[1])))
    }
}

import Foundation

/// One row of the `task_config` table: how a task type runs.
public struct TaskConfigRecord: Sendable, Equatable {
    public enum Executor: String, Sendable, CaseIterable {
        case local, http, grpc
    }

    public var taskType: String
    public var executor: Executor
    public var endpoint: String
    public var timeoutSeconds: Int
    public var maxRetries: Int
    public var retryBackoffMs: Int
    public var maxConcurrency: Int
    public var rateLimitPerSecond: Int
    public var enabled: Bool
    public var headers: [String: String]
    public var updatedAt: Date
    /// Set only by Pause/ResumeTaskType: its tasks wait, keeping their place.
    public var paused: Bool
    /// Hours its finished tasks are kept; 0 = the cluster's default.
    public var retentionHours: Int
    /// Raised (on MySQL's clock) by every write of its limits or pause: the
    /// leader's copy in Redis never goes back to an older state.
    public var limitsVersion: UInt64

    public init(
        taskType: String,
        executor: Executor,
        endpoint: String = "",
        timeoutSeconds: Int,
        maxRetries: Int,
        retryBackoffMs: Int,
        maxConcurrency: Int = 0,
        rateLimitPerSecond: Int = 0,
        enabled: Bool = true,
        headers: [String: String] = [:],
        updatedAt: Date = Date(),
        paused: Bool = false,
        retentionHours: Int = 0,
        limitsVersion: UInt64 = 0
    ) {
        self.taskType = taskType
        self.executor = executor
        self.endpoint = endpoint
        self.timeoutSeconds = timeoutSeconds
        self.maxRetries = maxRetries
        self.retryBackoffMs = retryBackoffMs
        self.maxConcurrency = maxConcurrency
        self.rateLimitPerSecond = rateLimitPerSecond
        self.enabled = enabled
        self.headers = headers
        self.updatedAt = updatedAt
        self.paused = paused
        self.retentionHours = retentionHours
        self.limitsVersion = limitsVersion
    }
}

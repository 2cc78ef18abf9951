import Foundation

/// One row of the `task` table.
public struct TaskRecord: Sendable, Equatable {
    public var taskID: String
    public var taskType: String
    public var priority: TaskPriority
    public var payload: [String: String]
    /// Typed arguments (CreateTask's `args`): the JSON text of an object, or
    /// nil for a task created with a string map. A task has one or the
    /// other; both live in the `payload` column (`StoredPayload`).
    public var args: String?
    public var status: TaskStatus
    public var workerID: String?
    public var attempt: Int
    public var maxRetries: Int
    public var timeoutSeconds: Int
    public var workerLosses: Int
    public var result: String?
    public var error: String?
    public var idempotencyKey: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var runAt: Date?
    /// Attempts made before the last manual retry (RetryTask): retries are
    /// counted from there, so a retried dead letter has its budget afresh.
    public var retryBase: Int
    /// The tenant of the key that created it (`Tenant.default` without keys).
    public var tenant: String
    /// How many times it has waited anew (a retry scheduled, RetryTask): its
    /// queue entry carries it, and only the entry of the current generation
    /// starts it.
    public var generation: Int
    /// When a RETRYING task is due again.
    public var retryAt: Date?
    /// The schedule that created it, and the fire time it was created for.
    public var scheduleID: String?
    public var scheduledFor: Date?
    /// The tasks it runs after (CreateTask's `depends_on`), in request order.
    public var dependsOn: [String]
    /// Results of those that SUCCEEDED (task id -> result): filled for a
    /// start (the executor gets them) and for a single read.
    public var dependencyResults: [String: String]
    /// Some task depends on this one: its terminal outcome settles them
    /// (released, or cancelled). The hot outcome path reads the dependency
    /// table only for such rows.
    public var hasDependents: Bool
    /// While WAITING: how many of `dependsOn` have not SUCCEEDED yet.
    public var waitingOn: Int
    /// The dependency whose end (FAILED, TIMEOUT, CANCELLED) cancelled it.
    public var blockedBy: String?
    /// The W3C traceparent of the API span that created it (tracing on):
    /// its attempts' spans are that span's children. Nil when not traced.
    public var traceparent: String?

    public init(
        taskID: String,
        taskType: String,
        priority: TaskPriority,
        payload: [String: String],
        args: String? = nil,
        status: TaskStatus,
        workerID: String? = nil,
        attempt: Int = 0,
        maxRetries: Int,
        timeoutSeconds: Int,
        workerLosses: Int = 0,
        result: String? = nil,
        error: String? = nil,
        idempotencyKey: String? = nil,
        createdAt: Date,
        updatedAt: Date,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        runAt: Date? = nil,
        retryBase: Int = 0,
        tenant: String = Tenant.default,
        generation: Int = 0,
        retryAt: Date? = nil,
        scheduleID: String? = nil,
        scheduledFor: Date? = nil,
        dependsOn: [String] = [],
        dependencyResults: [String: String] = [:],
        hasDependents: Bool = false,
        waitingOn: Int = 0,
        blockedBy: String? = nil,
        traceparent: String? = nil
    ) {
        self.taskID = taskID
        self.taskType = taskType
        self.priority = priority
        self.payload = payload
        self.args = args
        self.status = status
        self.workerID = workerID
        self.attempt = attempt
        self.maxRetries = maxRetries
        self.timeoutSeconds = timeoutSeconds
        self.workerLosses = workerLosses
        self.result = result
        self.error = error
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.runAt = runAt
        self.retryBase = retryBase
        self.tenant = tenant
        self.generation = generation
        self.retryAt = retryAt
        self.scheduleID = scheduleID
        self.scheduledFor = scheduledFor
        self.dependsOn = dependsOn
        self.dependencyResults = dependencyResults
        self.hasDependents = hasDependents
        self.waitingOn = waitingOn
        self.blockedBy = blockedBy
        self.traceparent = traceparent
    }
}

extension TaskRecord {
    /// When a waiting task may start, if later than now: its retry's due
    /// time while RETRYING, its `run_at` before its first attempt.
    public var dueAt: Date? {
        if self.status == .retrying { return self.retryAt }
        return self.attempt == 0 ? self.runAt : nil
    }
}

public enum TaskPriority: Int, Sendable, Hashable {
    case normal = 0
    case high = 1
}

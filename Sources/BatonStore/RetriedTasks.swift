import BatonModel

/// What one retry (RetryTask, or a page of a bulk retry) changed, in one
/// transaction.
public struct RetriedTasks: Sendable {
    /// Run again: QUEUED (the caller enqueues them), or WAITING for the
    /// tasks they depend on that have not SUCCEEDED yet.
    public var retried: [TaskRecord] = []
    /// Dependents the retried tasks' end had cancelled, WAITING again.
    public var revived: [TaskRecord] = []
    /// Left as they were: each depends on a task that ended FAILED, TIMEOUT
    /// or CANCELLED and was not retried with it (named here with its status).
    /// Retrying that task first brings back the dependents its end cancelled.
    public var blocked: [String: (parent: String, status: TaskStatus)] = [:]

    public init() {}
}

import BatonModel
import Foundation

/// The end of one attempt as a worker records it: SUCCEEDED, FAILED, TIMEOUT
/// or RETRYING, with the result or the error.
public struct FinishedAttempt: Sendable, Equatable {
    public var taskID: String
    public var attempt: Int
    public var status: TaskStatus
    public var result: String?
    public var error: String?
    /// The task's tenant, for the finished counts kept per tenant (no
    /// default: a forgotten one would count under another tenant).
    public var tenant: String
    /// When a RETRYING attempt's task is due again.
    public var retryAt: Date?
    /// The worker's copy of the row says some task depends on this one.
    public var hasDependents: Bool
    /// The generation the attempt's entry carried, and when the attempt
    /// started: an attempt shorter than the deferred-start window has no
    /// start write, and its outcome write records its start too.
    public var generation: Int
    public var startedAt: Date?

    public init(
        taskID: String, attempt: Int, status: TaskStatus, result: String? = nil, error: String? = nil, tenant: String, retryAt: Date? = nil,
        hasDependents: Bool = false, generation: Int = 0, startedAt: Date? = nil
    ) {
        self.generation = generation
        self.startedAt = startedAt
        self.taskID = taskID
        self.attempt = attempt
        self.status = status
        self.result = result
        self.error = error
        self.tenant = tenant
        self.retryAt = retryAt
        self.hasDependents = hasDependents
    }
}

/// A task's state; raw values are the wire numbers of `baton.v1.TaskStatus`
/// and what the `task.status` column stores.
public enum TaskStatus: Int, Sendable, CaseIterable, Hashable {
    case pending = 1
    case queued = 2
    case scheduled = 3
    case running = 4
    case succeeded = 5
    case failed = 6
    case cancelled = 7
    case timeout = 8
    case retrying = 9
    /// Created with `depends_on`: waits (on no queue) until every task it
    /// depends on SUCCEEDED, then is released to QUEUED.
    case waiting = 10

    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled, .timeout: true
        default: false
        }
    }

    /// The `TaskStatus` enum name on the wire, e.g. `TASK_STATUS_QUEUED`.
    public var wireName: String {
        switch self {
        case .pending: "TASK_STATUS_PENDING"
        case .queued: "TASK_STATUS_QUEUED"
        case .scheduled: "TASK_STATUS_SCHEDULED"
        case .running: "TASK_STATUS_RUNNING"
        case .succeeded: "TASK_STATUS_SUCCEEDED"
        case .failed: "TASK_STATUS_FAILED"
        case .cancelled: "TASK_STATUS_CANCELLED"
        case .timeout: "TASK_STATUS_TIMEOUT"
        case .retrying: "TASK_STATUS_RETRYING"
        case .waiting: "TASK_STATUS_WAITING"
        }
    }

    public static let nonTerminal: [TaskStatus] = allCases.filter { !$0.isTerminal }
}

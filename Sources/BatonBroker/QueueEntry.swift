import BatonModel

/// What queues and the delayed set hold for a task: `<task_id>|<task_type>`,
/// and `<priority>|<task_id>|<task_type>` in the delayed set. The type rides
/// along so the dispatcher can choose a worker without reading MySQL; `|`
/// cannot appear in an id or a type.
public struct QueueEntry: Sendable, Hashable {
    public var taskID: String
    public var taskType: String
    public var priority: TaskPriority

    public init(taskID: String, taskType: String, priority: TaskPriority) {
        self.taskID = taskID
        self.taskType = taskType
        self.priority = priority
    }

    public init(_ task: TaskRecord) {
        self.init(taskID: task.taskID, taskType: task.taskType, priority: task.priority)
    }

    public var queueMember: String { "\(self.taskID)|\(self.taskType)" }
    public var delayedMember: String { "\(self.priority.rawValue)|\(self.taskID)|\(self.taskType)" }

    public init?(queueMember: String, priority: TaskPriority) {
        let parts = queueMember.split(separator: "|", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        self.init(taskID: String(parts[0]), taskType: String(parts[1]), priority: priority)
    }

    public init?(delayedMember: String) {
        let parts = delayedMember.split(separator: "|", maxSplits: 2)
        guard parts.count == 3, let raw = Int(parts[0]), let priority = TaskPriority(rawValue: raw) else { return nil }
        self.init(taskID: String(parts[1]), taskType: String(parts[2]), priority: priority)
    }
}

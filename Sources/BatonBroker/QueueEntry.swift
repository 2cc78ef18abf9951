import BatonModel

/// What queues, worker queues, in-flight lists and the delayed set hold for a
/// task: `<priority>|<task_id>|<task_type>`. Type and priority ride along so
/// the dispatcher can choose a worker, and recovery can requeue, without
/// reading MySQL; `|` cannot appear in an id or a type.
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

    public var member: String { "\(self.priority.rawValue)|\(self.taskID)|\(self.taskType)" }

    public init?(member: String) {
        let parts = member.split(separator: "|", maxSplits: 2)
        guard parts.count == 3, let raw = Int(parts[0]), let priority = TaskPriority(rawValue: raw) else { return nil }
        self.init(taskID: String(parts[1]), taskType: String(parts[2]), priority: priority)
    }
}

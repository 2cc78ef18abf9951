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
        // Scans bytes: this runs for every entry the dispatcher and workers move.
        let bytes = member.utf8
        let bar = UInt8(ascii: "|")
        guard let first = bytes.firstIndex(of: bar),
            let second = bytes[bytes.index(after: first)...].firstIndex(of: bar),
            let raw = Int(Substring(bytes[..<first])), let priority = TaskPriority(rawValue: raw)
        else { return nil }
        let taskID = String(Substring(bytes[bytes.index(after: first)..<second]))
        let taskType = String(Substring(bytes[bytes.index(after: second)...]))
        guard !taskID.isEmpty, !taskType.isEmpty else { return nil }
        self.init(taskID: taskID, taskType: taskType, priority: priority)
    }
}

import BatonModel

/// What queues, worker queues, in-flight lists and the delayed set hold for a
/// task: `<priority>|<task_id>|<task_type>`, then `|<generation>` once the
/// task has waited anew (a retry, RetryTask). Type and priority ride along so
/// the dispatcher can choose a worker, and recovery can requeue, without
/// reading MySQL; the generation lets a start write refuse a stale entry
/// (one left behind by a cancel and a retry): only the entry of the task's
/// current generation starts it. `|` cannot appear in an id or a type.
public struct QueueEntry: Sendable, Hashable {
    public var taskID: String
    public var taskType: String
    public var priority: TaskPriority
    public var generation: Int

    public init(taskID: String, taskType: String, priority: TaskPriority, generation: Int = 0) {
        self.taskID = taskID
        self.taskType = taskType
        self.priority = priority
        self.generation = generation
    }

    public init(_ task: TaskRecord) {
        self.init(taskID: task.taskID, taskType: task.taskType, priority: task.priority, generation: task.generation)
    }

    /// The entry of the task's next generation (what a scheduled retry waits as).
    public var next: QueueEntry {
        var next = self
        next.generation += 1
        return next
    }

    public var member: String {
        let base = "\(self.priority.rawValue)|\(self.taskID)|\(self.taskType)"
        return self.generation == 0 ? base : base + "|\(self.generation)"
    }

    public init?(member: String) {
        // Scans bytes: this runs for every entry the dispatcher and workers move.
        let bytes = member.utf8
        let bar = UInt8(ascii: "|")
        guard let first = bytes.firstIndex(of: bar),
            let second = bytes[bytes.index(after: first)...].firstIndex(of: bar),
            let raw = Int(Substring(bytes[..<first])), let priority = TaskPriority(rawValue: raw)
        else { return nil }
        let taskID = String(Substring(bytes[bytes.index(after: first)..<second]))
        let rest = bytes[bytes.index(after: second)...]
        var generation = 0
        var typeEnd = rest.endIndex
        if let third = rest.firstIndex(of: bar) {
            guard let value = Int(Substring(rest[rest.index(after: third)...])), value >= 0 else { return nil }
            generation = value
            typeEnd = third
        }
        let taskType = String(Substring(rest[..<typeEnd]))
        guard !taskID.isEmpty, !taskType.isEmpty else { return nil }
        self.init(taskID: taskID, taskType: taskType, priority: priority, generation: generation)
    }
}

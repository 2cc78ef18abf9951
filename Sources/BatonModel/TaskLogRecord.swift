import Foundation

/// One row of the `task_logs` table.
public struct TaskLogRecord: Sendable, Equatable {
    public var id: Int64
    public var taskID: String
    public var attempt: Int
    public var workerID: String
    public var level: String
    public var message: String
    public var createdAt: Date

    public init(id: Int64 = 0, taskID: String, attempt: Int, workerID: String, level: String, message: String, createdAt: Date) {
        self.id = id
        self.taskID = taskID
        self.attempt = attempt
        self.workerID = workerID
        self.level = level
        self.message = message
        self.createdAt = createdAt
    }
}

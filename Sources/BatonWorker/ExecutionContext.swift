import Foundation

/// What an executor knows about the attempt it runs.
public struct ExecutionContext: Sendable {
    public var taskID: String
    public var taskType: String
    public var attempt: Int
    public var workerID: String
    /// When the attempt times out.
    public var deadline: Date
    /// Writes lines to the task's log (`GetTaskLogs`).
    public var log: TaskLogger
}

/// Task log lines from an executor, tagged with the task and attempt.
public struct TaskLogger: Sendable {
    let sink: @Sendable (_ level: String, _ message: String) -> Void

    public init(_ sink: @escaping @Sendable (_ level: String, _ message: String) -> Void) {
        self.sink = sink
    }

    public func debug(_ message: String) { self.sink("DEBUG", message) }
    public func info(_ message: String) { self.sink("INFO", message) }
    public func warn(_ message: String) { self.sink("WARN", message) }
    public func error(_ message: String) { self.sink("ERROR", message) }
}

import Foundation

/// What an executor knows about the attempt it runs.
public struct ExecutionContext: Sendable {
    public var taskID: String
    public var taskType: String
    public var attempt: Int
    public var workerID: String
    /// When the attempt times out, on the cluster's clock (Redis's time).
    public var deadline: Date
    /// The same moment on this process's monotonic clock: what timers use.
    public var deadlineInstant: ContinuousClock.Instant
    /// Writes lines to the task's log (`GetTaskLogs`).
    public var log: TaskLogger
    /// Results of the tasks this one depends on (task id -> result); empty
    /// for a task without dependencies.
    public var dependencyResults: [String: String] = [:]
    /// The task's typed arguments (CreateTask's `args`) as the JSON text of
    /// an object; nil for a task created with a string payload. Typed local
    /// handlers get them decoded (`LocalExecutor.register(_:_:)`).
    public var args: String? = nil
    /// The W3C traceparent of the attempt's span when the node traces
    /// (`--otel-endpoint`): the HTTP executor sends it as a `traceparent`
    /// header, the gRPC executor as metadata and `ExecuteRequest.traceparent`;
    /// a local handler may continue it. Nil when not tracing.
    public var traceparent: String? = nil

    /// Seconds left until the deadline (never from the local wall clock, which may be off).
    public var timeRemaining: TimeInterval {
        Double((self.deadlineInstant - ContinuousClock.now).wholeNanoseconds) / 1e9
    }
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

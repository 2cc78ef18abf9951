import BatonModel

/// Runs one attempt of a task. Returns the result text on success; throws
/// `ExecutionFailure` for a failure (retryable or not). Must stop promptly
/// when its Swift task is cancelled (cancel signal, timeout, shutdown).
public protocol TaskExecutor: Sendable {
    func execute(_ context: ExecutionContext, payload: [String: String], config: TaskConfigRecord) async throws -> String
}

/// A failed attempt, as the executor reports it.
public struct ExecutionFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var retryable: Bool

    public init(_ message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }

    public var description: String { self.message }
}

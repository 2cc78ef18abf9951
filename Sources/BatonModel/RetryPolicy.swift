import Foundation

/// Whether a failed attempt is retried, and when.
public struct RetryPolicy: Sendable {
    /// Cap of one backoff.
    public var maxBackoff: TimeInterval = 600

    public init() {}

    /// Attempts lost with their worker do not spend retries, nor do those
    /// before a manual retry.
    public func retriesLeft(_ task: TaskRecord) -> Bool {
        self.spent(task) <= task.maxRetries
    }

    /// Attempts that spent a retry (the first one included).
    public func spent(_ task: TaskRecord) -> Int {
        task.attempt - task.workerLosses - task.retryBase
    }

    /// `backoff · 2^(n−1)` with ±20% jitter (a factor in 0.8…1.2), capped; n counts the attempts that spent a retry.
    public func delay(after task: TaskRecord, baseBackoffMs: Int, jitter: Double = .random(in: 0.8...1.2)) -> TimeInterval {
        let spent = max(1, self.spent(task))
        let base = Double(baseBackoffMs) / 1000 * pow(2, Double(min(spent - 1, 30)))
        return min(self.maxBackoff, base * jitter)
    }
}

import Foundation

/// What becomes of an attempt that failed or timed out: RETRYING until a
/// time, or ended for good (FAILED or TIMEOUT). The worker (its own failures
/// and timeouts) and the leader's timeout recovery (attempts nobody
/// reported) both decide here, so the two never disagree.
public enum RetryDecision: Equatable, Sendable {
    case retry(at: Date)
    case end(TaskStatus)

    /// How the attempt ended.
    public enum Failure: Sendable {
        /// The executor failed; a non-retryable failure ends the task at once.
        case failed(retryable: Bool)
        /// Past its timeout (always retryable).
        case timedOut
    }

    /// The backoff base when the type's configuration is missing or unreadable.
    public static let defaultBackoffMs = 1000

    /// Decides for `task`'s current attempt at `now`. The type's backoff base
    /// is read (`retryBackoffMs`; nil: `defaultBackoffMs`) only when the task
    /// retries, so an attempt that ends for good reads no configuration.
    public init(
        _ task: TaskRecord, after failure: Failure, now: Date, policy: RetryPolicy = RetryPolicy(),
        jitter: Double = .random(in: 0.8...1.2), retryBackoffMs: () async throws -> Int?
    ) async rethrows {
        let retryable: Bool
        switch failure {
        case .failed(let canRetry): retryable = canRetry
        case .timedOut: retryable = true
        }
        guard retryable && policy.retriesLeft(task) else {
            self = .end(failure.finalStatus)
            return
        }
        let base = try await retryBackoffMs() ?? Self.defaultBackoffMs
        self = .retry(at: now.addingTimeInterval(policy.delay(after: task, baseBackoffMs: base, jitter: jitter)))
    }

    /// When the retry is due, in ms since 1970 (the delayed set's score), or 0 when it ends.
    public var retryDue: Int64 {
        guard case .retry(let at) = self else { return 0 }
        return Int64(at.timeIntervalSince1970 * 1000)
    }
}

extension RetryDecision.Failure {
    /// The status a task ends in when it is not retried.
    var finalStatus: TaskStatus {
        switch self {
        case .failed: .failed
        case .timedOut: .timeout
        }
    }
}

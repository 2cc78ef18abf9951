import BatonModel
import Foundation

/// What a worker writes of the attempts it runs: their starts, their
/// outcomes, a start undone, their log lines. A protocol so the worker's
/// pipeline can be tested against an in-memory store; `TaskStore` is the one
/// that runs (its documentation says what each write checks).
public protocol AttemptStore: Sendable {
    /// A queue entry a worker asks to start: the task and the generation its entry carries.
    typealias StartClaim = (taskID: String, generation: Int)

    /// Starts what still waits at its claim's generation as its next
    /// attempt; the tasks it started (`earlier`: the times of tries of the
    /// same batch whose answer was lost, whose starts it claims too).
    func start(_ claims: [StartClaim], workerID: String, cluster: String, now: Date, earlier: [Date]) async throws -> [TaskRecord]
    /// Of claims a start refused, those whose task still waits at that generation.
    func stillWaiting(_ claims: [StartClaim]) async throws -> Set<String>
    /// Records finished attempts, each only while its row still runs that
    /// attempt: the ids it changed (rows tries at `earlier` changed count
    /// too), and the dependents the write settled.
    func recordWorkerOutcomes(
        _ attempts: [FinishedAttempt], workerID: String, now: Date, earlier: [Date]
    ) async throws -> (applied: Set<String>, settled: SettledDependents)
    /// QUEUED again, the attempt not spent, while the row still runs it; false when it moved on.
    func undoStart(_ taskID: String, attempt: Int, now: Date) async throws -> Bool
    /// Appends task log lines.
    func appendLogs(_ lines: [TaskLogRecord]) async throws
}

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
    /// `checksPause` false: the start of an attempt that already runs (the
    /// deferred start), which a pause since does not stop.
    func start(_ claims: [StartClaim], workerID: String, cluster: String, now: Date, earlier: [Date], checksPause: Bool) async throws -> [TaskRecord]
    /// Of the tasks these claims name, those a start would start now, read
    /// and not written, as the attempts about to run (the deferred start).
    func startable(_ claims: [StartClaim], workerID: String, cluster: String, now: Date) async throws -> [TaskRecord]
    /// Of claims a start refused, those whose task still waits at that generation.
    func stillWaiting(_ claims: [StartClaim]) async throws -> Set<String>
    /// Records finished attempts, each only while its row still runs that
    /// attempt (RUNNING it, or still waiting for it while this worker of
    /// `cluster` is not fenced): the ids it changed (rows tries at `earlier`
    /// changed count too), and the dependents the write settled.
    func recordWorkerOutcomes(
        _ attempts: [FinishedAttempt], workerID: String, cluster: String, now: Date, earlier: [Date]
    ) async throws -> (applied: Set<String>, settled: SettledDependents)
    /// Counts an attempt that ran unwritten on a row a cancel ended without counting it.
    func countCancelledAttempt(_ taskID: String, attempt: Int, generation: Int, workerID: String, startedAt: Date) async throws
    /// QUEUED again, the attempt not spent, while the row still runs it; false when it moved on.
    func undoStart(_ taskID: String, attempt: Int, now: Date) async throws -> Bool
    /// Appends task log lines.
    func appendLogs(_ lines: [TaskLogRecord]) async throws
}

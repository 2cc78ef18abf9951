import BatonBroker
import BatonModel
import BatonStore
import Foundation

/// How the API shows attempts whose start is not written yet (the deferred
/// start, docs/deferred-start.md): for up to the window after it began, an
/// attempt's row still reads waiting, and its worker's claim in Redis is
/// what says it runs. GetTask and WatchTask read the claim of a waiting
/// row; GetStats counts what workers hold in flight. Lists read the rows
/// only: an attempt younger than the window lists as waiting.
enum ClaimedAttempts {
    /// Statuses a row has while its attempt runs unwritten.
    static let waiting: Set<TaskStatus> = [.queued, .scheduled, .retrying]

    /// The task as it runs under `claim`: RUNNING its next attempt on the
    /// claim's worker, when the claim is of the row's generation and the row
    /// still waits; else the row as it is.
    static func present(_ task: TaskRecord, claim: AttemptClaim?) -> TaskRecord {
        guard let claim, claim.generation == task.generation, Self.waiting.contains(task.status) else { return task }
        var running = task
        running.status = .running
        running.attempt += 1
        running.workerID = claim.workerID
        running.startedAt = claim.startedAt
        running.finishedAt = nil
        return running
    }

    /// The task with its claim read, when its row waits; the row as it is
    /// when Redis does not answer (the claim only sharpens what MySQL says).
    static func read(_ task: TaskRecord?, broker: RedisBroker) async -> TaskRecord? {
        guard let task, Self.waiting.contains(task.status) else { return task }
        let claims = try? await broker.claims([task.taskID])
        return Self.present(task, claim: claims?[task.taskID])
    }

    /// Runs a cancel's MySQL write (`write`, given the attempts workers run
    /// of these tasks, as their claims say, for it to count: a row still
    /// waiting at the claim's generation runs that attempt unwritten) while
    /// every other task is held in Redis, so that none starts between the
    /// claims' read and the write (`RedisBroker.holdForCancel`). Redis away:
    /// nothing held; a take meanwhile is then stopped by the worker's window
    /// write, which finds the row cancelled, and counted on the row.
    static func cancelling<T>(_ taskIDs: [String], broker: RedisBroker, _ write: ([UnwrittenStart]) async throws -> T) async throws -> T {
        let claims = try? await broker.holdForCancel(taskIDs)
        let running = (claims ?? [:]).map {
            UnwrittenStart(taskID: $0.key, generation: $0.value.generation, workerID: $0.value.workerID, startedAt: $0.value.startedAt)
        }
        let result: Result<T, any Error>
        do { result = .success(try await write(running)) } catch { result = .failure(error) }
        if claims != nil { try? await broker.releaseCancelHolds(taskIDs) }
        return try result.get()
    }

    /// Status counts with the attempts workers hold in flight beyond the
    /// RUNNING rows counted as running: taken from the waiting counts
    /// (QUEUED first, then SCHEDULED, then RETRYING), never below zero.
    static func counts(_ counts: [TaskStatus: Int64], inFlight: Int64) -> [TaskStatus: Int64] {
        var counts = counts
        var unwritten = inFlight - (counts[.running] ?? 0)
        for status in [TaskStatus.queued, .scheduled, .retrying] where unwritten > 0 {
            let moved = min(unwritten, counts[status] ?? 0)
            guard moved > 0 else { continue }
            counts[status, default: 0] -= moved
            counts[.running, default: 0] += moved
            unwritten -= moved
        }
        return counts
    }
}

import BatonModel
import BatonStore
import Foundation
import Synchronization

/// The task rows a worker writes, in memory, for the worker's pipeline
/// without a MySQL. Each write checks what `TaskStore`'s does: a start only
/// what waits at its claim's generation and whose type is not paused, an
/// outcome or an undone start only while the row runs that attempt; and a
/// try whose answer was lost is told apart by its time, as there. The
/// deferred start reads (`startable`); an outcome write lands on a row
/// still waiting for its attempt and records the start too. Faults
/// are queued per write (`fail`): `.noAnswer` fails before writing (MySQL
/// away), `.lostAnswer` writes, then fails (the reply lost on the way back).
final class InMemoryAttemptStore: AttemptStore {
    enum Write: Hashable {
        case start, outcome
    }

    enum Fault {
        case noAnswer, lostAnswer
    }

    private struct State {
        var rows: [String: TaskRecord] = [:]
        var paused: Set<String> = []
        var faults: [Write: [Fault]] = [:]
        /// Per task, how many times a start was recorded (by a start write or
        /// by the outcome write of a short attempt) / an outcome write changed its row.
        var starts: [String: Int] = [:]
        var outcomes: [String: Int] = [:]
        var logs: [TaskLogRecord] = []
    }

    private static let startable: Set<TaskStatus> = [.queued, .scheduled, .retrying]
    private let state = Mutex(State())

    // MARK: what a test does and reads

    func insert(_ rows: [TaskRecord]) {
        self.state.withLock { state in
            for row in rows { state.rows[row.taskID] = row }
        }
    }

    func row(_ taskID: String) -> TaskRecord? { self.state.withLock { $0.rows[taskID] } }

    /// The row as another node changes it (a cancel, a retry).
    func change(_ taskID: String, _ body: (inout TaskRecord) -> Void) {
        self.state.withLock { state in
            if var row = state.rows[taskID] {
                body(&row)
                state.rows[taskID] = row
            }
        }
    }

    func pause(_ taskType: String) {
        self.state.withLock { _ = $0.paused.insert(taskType) }
    }

    /// The next tries of `write` fail as `faults` say, one each.
    func fail(_ write: Write, _ faults: [Fault]) {
        self.state.withLock { $0.faults[write, default: []] += faults }
    }

    func starts(_ taskID: String) -> Int { self.state.withLock { $0.starts[taskID, default: 0] } }
    func outcomeWrites(_ taskID: String) -> Int { self.state.withLock { $0.outcomes[taskID, default: 0] } }
    var logs: [TaskLogRecord] { self.state.withLock { $0.logs } }

    // MARK: AttemptStore

    func startable(_ claims: [StartClaim], workerID: String, cluster: String, now: Date) async throws -> [TaskRecord] {
        try self.write(.start) { state in
            var seen = Set<String>()
            return claims.compactMap { claim -> TaskRecord? in
                guard seen.insert(claim.taskID).inserted, var row = state.rows[claim.taskID], Self.startable.contains(row.status),
                    row.generation == claim.generation, !state.paused.contains(row.taskType)
                else { return nil }
                row.status = .running
                row.attempt += 1
                row.startedAt = now
                row.workerID = workerID
                return row
            }
        }
    }

    func start(_ claims: [StartClaim], workerID: String, cluster: String, now: Date, earlier: [Date], checksPause: Bool) async throws -> [TaskRecord] {
        try self.write(.start) { state in
            let ids = Set(claims.map(\.taskID))
            for id in ids {
                guard var row = state.rows[id], row.status == .running, row.workerID == workerID, let started = row.startedAt, earlier.contains(started)
                else { continue }
                row.startedAt = now
                row.updatedAt = now
                state.rows[id] = row
            }
            for claim in claims {
                guard var row = state.rows[claim.taskID], Self.startable.contains(row.status), row.generation == claim.generation,
                    !checksPause || !state.paused.contains(row.taskType)
                else { continue }
                row.status = .running
                row.attempt += 1
                row.startedAt = now
                row.workerID = workerID
                row.updatedAt = now
                state.rows[claim.taskID] = row
                state.starts[claim.taskID, default: 0] += 1
            }
            return ids.compactMap { state.rows[$0] }.filter { $0.status == .running && $0.workerID == workerID && $0.startedAt == now }
        }
    }

    func stillWaiting(_ claims: [StartClaim]) async throws -> Set<String> {
        self.state.withLock { state in
            Set(claims.filter { claim in
                state.rows[claim.taskID].map { Self.startable.contains($0.status) && $0.generation == claim.generation } ?? false
            }.map(\.taskID))
        }
    }

    func recordWorkerOutcomes(
        _ attempts: [FinishedAttempt], workerID: String, cluster: String, now: Date, earlier: [Date]
    ) async throws -> (applied: Set<String>, settled: SettledDependents) {
        try self.write(.outcome) { state in
            var applied = Set<String>()
            for attempt in attempts {
                guard var row = state.rows[attempt.taskID] else { continue }
                let unwritten = Self.startable.contains(row.status) && row.attempt + 1 == attempt.attempt && row.generation == attempt.generation
                if unwritten {
                    row.attempt = attempt.attempt
                    row.startedAt = attempt.startedAt ?? now
                    row.workerID = workerID
                    state.starts[attempt.taskID, default: 0] += 1
                }
                if unwritten || (row.status == .running && row.attempt == attempt.attempt) {
                    row.status = attempt.status
                    row.result = attempt.result
                    row.error = attempt.error
                    row.finishedAt = attempt.status.isTerminal ? now : nil
                    row.retryAt = attempt.retryAt
                    if attempt.status == .retrying { row.generation += 1 }
                    row.updatedAt = now
                    state.rows[attempt.taskID] = row
                    state.outcomes[attempt.taskID, default: 0] += 1
                    applied.insert(attempt.taskID)
                } else if row.workerID == workerID, row.status == attempt.status, earlier.contains(row.updatedAt) {
                    // Written by a try whose answer was lost.
                    applied.insert(attempt.taskID)
                }
            }
            return (applied, SettledDependents())
        }
    }

    func countCancelledAttempt(_ taskID: String, attempt: Int, generation: Int, workerID: String, startedAt: Date) async throws {
        self.state.withLock { state in
            guard var row = state.rows[taskID], row.status == .cancelled, row.generation == generation, row.attempt + 1 == attempt else { return }
            row.attempt = attempt
            row.workerID = workerID
            row.startedAt = startedAt
            state.rows[taskID] = row
        }
    }

    func undoStart(_ taskID: String, attempt: Int, now: Date) async throws -> Bool {
        self.state.withLock { state in
            guard var row = state.rows[taskID], row.status == .running, row.attempt == attempt else { return false }
            row.status = .queued
            row.attempt -= 1
            row.startedAt = nil
            row.updatedAt = now
            state.rows[taskID] = row
            return true
        }
    }

    func appendLogs(_ lines: [TaskLogRecord]) async throws {
        self.state.withLock { $0.logs += lines }
    }

    /// Runs one write under its next fault, if any.
    private func write<T: Sendable>(_ write: Write, _ body: (inout State) -> T) throws -> T {
        try self.state.withLock { state in
            let fault = state.faults[write]?.isEmpty == false ? state.faults[write]?.removeFirst() : nil
            if fault == .noAnswer { throw StoreError(.unavailable, "in-memory MySQL away") }
            let result = body(&state)
            if fault == .lostAnswer { throw StoreError(.unavailable, "in-memory MySQL: reply lost") }
            return result
        }
    }
}

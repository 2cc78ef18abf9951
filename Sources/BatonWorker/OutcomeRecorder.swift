import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Synchronization

/// Records finished attempts in groups, like a group commit: while one
/// write is under way the next outcomes gather, then one conditional
/// multi-row UPDATE and one acknowledgement script cover them all. The
/// MySQL write always lands before the in-flight entries are acknowledged.
/// An idle recorder writes a lone outcome at once.
final class OutcomeRecorder: Sendable {
    /// One outcome to record; `retryDue` (ms since 1970, or 0) schedules the retry of a RETRYING attempt.
    struct Item: Sendable {
        var attempt: FinishedAttempt
        var entry: QueueEntry
        var retryDue: Int64
    }

    private struct Waiting {
        var item: Item
        var continuation: CheckedContinuation<Bool, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var closed = false
        var lastWrite = Date.distantPast
    }

    /// More would make one statement very long for little gain.
    static let maxBatch = 256

    private let workerID: String
    private let tasks: TaskStore
    private let broker: RedisBroker
    private let state = Mutex(State())
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(workerID: String, tasks: TaskStore, broker: RedisBroker) {
        self.workerID = workerID
        self.tasks = tasks
        self.broker = broker
        (self.wakes, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Records one outcome; returns whether its status write applied (false:
    /// the task was cancelled or recovered meanwhile; it is acknowledged all the same).
    func record(_ item: Item) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = self.state.withLock { state in
                if state.closed { return false }
                state.waiting.append(Waiting(item: item, continuation: continuation))
                return true
            }
            if accepted {
                self.wake.yield()
            } else {
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Writes what gathers until cancelled; outcomes still waiting then fail
    /// (their entries stay in flight, and the leader's recovery settles them).
    func run() async {
        for await _ in self.wakes {
            while let batch = self.next() {
                await self.write(batch)
            }
        }
        let left = self.state.withLock { state in
            state.closed = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiting in left { waiting.continuation.resume(throwing: CancellationError()) }
    }

    private func next() -> (batch: [Waiting], now: Date)? {
        self.state.withLock { state in
            guard !state.waiting.isEmpty else { return nil }
            let batch = Array(state.waiting.prefix(Self.maxBatch))
            state.waiting.removeFirst(batch.count)
            // A time unique among this worker's writes tells which rows a write changed.
            var now = Date().roundedToMicroseconds
            if now <= state.lastWrite { now = state.lastWrite.addingTimeInterval(0.000_001).roundedToMicroseconds }
            state.lastWrite = now
            return (batch, now)
        }
    }

    private func write(_ batch: (batch: [Waiting], now: Date)) async {
        do {
            let applied = try await self.tasks.finish(batch.batch.map(\.item.attempt), workerID: self.workerID, now: batch.now)
            try await self.broker.finish(
                workerID: self.workerID,
                batch.batch.map { ($0.item.entry, applied.contains($0.item.attempt.taskID) ? $0.item.retryDue : 0) }
            )
            for waiting in batch.batch {
                waiting.continuation.resume(returning: applied.contains(waiting.item.attempt.taskID))
            }
        } catch {
            for waiting in batch.batch { waiting.continuation.resume(throwing: error) }
        }
    }
}

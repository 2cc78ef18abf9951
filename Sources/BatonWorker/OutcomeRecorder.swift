import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging
import Synchronization

/// Records finished attempts in groups, like a group commit: while one
/// write is under way the next outcomes gather, then one conditional
/// multi-row UPDATE covers them all. The MySQL write always lands before the
/// in-flight entries are acknowledged in Redis.
///
/// Nothing is dropped on a fault. A MySQL write that fails is retried with
/// backoff until MySQL answers, for as long as each attempt's lease lasts
/// (after that the leader's timeout recovery owns the task); a retry that
/// finds its rows already written by a try whose reply was lost counts them
/// as applied. Acknowledgements (also those of entries that ran nothing) are
/// retried until Redis answers, so no in-flight entry, type slot or retry
/// leaks; they gather in groups too, one `acknowledge` script per group.
final class OutcomeRecorder: Sendable {
    /// One outcome to record; `retryDue` (ms since 1970 on the cluster's
    /// clock, or 0) schedules the retry of a RETRYING attempt; past `lease`
    /// the outcome is left to the leader's recovery.
    struct Item: Sendable {
        var attempt: FinishedAttempt
        var entry: QueueEntry
        var retryDue: Int64
        var lease: Date
    }

    private struct Waiting {
        var item: Item
        var continuation: CheckedContinuation<Bool, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var acks: [(entry: QueueEntry, due: Int64)] = []
        var acking = 0
        var closed = false
        var lastWrite = Date.distantPast
    }

    /// More would make one statement very long for little gain.
    static let maxBatch = 256
    /// Results and errors one group carries, well below MariaDB's
    /// `max_allowed_packet` (16 MiB by default): one task's large result
    /// goes in a group of its own and never fails the others' write.
    static let maxBatchBytes = 4 << 20

    private let workerID: String
    private let tasks: any AttemptStore
    private let broker: any WorkerBroker
    private let logger: Logger
    /// MySQL and Redis writes, tried again until they land (50 ms doubling to 1 s).
    private let retry: LeaseRetry
    private let state = Mutex(State())
    private let writes: AsyncStream<Void>
    private let writeWake: AsyncStream<Void>.Continuation
    private let acks: AsyncStream<Void>
    private let ackWake: AsyncStream<Void>.Continuation

    init(workerID: String, tasks: any AttemptStore, broker: any WorkerBroker, logger: Logger) {
        self.workerID = workerID
        self.tasks = tasks
        self.broker = broker
        self.logger = logger
        self.retry = LeaseRetry(first: .milliseconds(50), cap: .seconds(1), logger: logger)
        (self.writes, self.writeWake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (self.acks, self.ackWake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Records one outcome; returns once MySQL has it, with whether its
    /// status write applied (false: the task was cancelled or recovered
    /// meanwhile). The acknowledgement follows in the background.
    func record(_ item: Item) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = self.state.withLock { state in
                if state.closed { return false }
                state.waiting.append(Waiting(item: item, continuation: continuation))
                return true
            }
            if accepted {
                self.writeWake.yield()
            } else {
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Acknowledges entries that need no MySQL write (not startable, a
    /// duplicate, cancelled), in the background.
    func acknowledge(_ entries: [QueueEntry]) {
        guard !entries.isEmpty else { return }
        self.state.withLock { $0.acks += entries.map { ($0, 0) } }
        self.ackWake.yield()
    }

    /// Waits until every acknowledgement handed over so far went out, or `timeout` passed.
    func flush(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, self.state.withLock({ !$0.acks.isEmpty || $0.acking > 0 || !$0.waiting.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Writes and acknowledges what gathers until cancelled; outcomes still
    /// waiting then fail, and acknowledgements not sent stay in flight (the
    /// worker then stays registered, and the leader's recovery settles them).
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in self.writes {
                    while let batch = self.next() { await self.write(batch) }
                }
            }
            group.addTask {
                for await _ in self.acks { await self.sendAcks() }
            }
        }
        let left = self.state.withLock { state in
            state.closed = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiting in left { waiting.continuation.resume(throwing: CancellationError()) }
    }

    private func next() -> [Waiting]? {
        self.state.withLock { state in
            guard !state.waiting.isEmpty else { return nil }
            var count = 0
            var bytes = 0
            for waiting in state.waiting.prefix(Self.maxBatch) {
                let size = (waiting.item.attempt.result?.utf8.count ?? 0) + (waiting.item.attempt.error?.utf8.count ?? 0)
                if count > 0 && bytes + size > Self.maxBatchBytes { break }
                count += 1
                bytes += size
            }
            let batch = Array(state.waiting.prefix(count))
            state.waiting.removeFirst(count)
            return batch
        }
    }

    /// A time unique among this worker's writes: it tells which rows a write changed.
    private func uniqueNow() -> Date {
        self.state.withLock { state in
            var now = self.broker.clock.now().roundedToMicroseconds
            if now <= state.lastWrite { now = state.lastWrite.addingTimeInterval(0.000_001).roundedToMicroseconds }
            state.lastWrite = now
            return now
        }
    }

    private func write(_ batch: [Waiting]) async {
        var batch = batch
        var tried: [Date] = []
        var now = Date.distantPast
        await self.retry.run("could not record outcomes; retrying", metadata: ["tasks": "\(batch.count)"]) {
            now = self.uniqueNow()
            let (applied, settled) = try await self.tasks.recordWorkerOutcomes(
                batch.map(\.item.attempt), workerID: self.workerID, cluster: self.broker.cluster, now: now, earlier: tried
            )
            if !settled.released.isEmpty { await self.enqueueReleased(settled.released, now: now) }
            if !settled.cancelled.isEmpty { try? await self.broker.announce(settled.cancelled.map(\.taskID)) }
            self.state.withLock { state in
                state.acks += batch.map { ($0.item.entry, applied.contains($0.item.attempt.taskID) ? $0.item.retryDue : 0) }
            }
            self.ackWake.yield()
            for waiting in batch {
                waiting.continuation.resume(returning: applied.contains(waiting.item.attempt.taskID))
            }
        } failed: { error in
            tried.append(now)
            if Task.isCancelled {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
                return false
            }
            // Past its lease an outcome belongs to the leader's recovery.
            let clock = self.broker.clock.now()
            for waiting in batch where waiting.item.lease <= clock { waiting.continuation.resume(throwing: error) }
            batch.removeAll { $0.item.lease <= clock }
            return !batch.isEmpty
        }
    }

    /// Dependents this write released (QUEUED in MySQL) go to their queues
    /// at once; should Redis not take them, the leader's reconciler finds
    /// them QUEUED and stale and enqueues them.
    private func enqueueReleased(_ released: [TaskRecord], now: Date) async {
        do {
            try await self.broker.enqueue(released, now: now)
            try? await self.broker.announce(released.map(\.taskID))
        } catch {
            self.logger.warning("could not enqueue released dependents; the reconciler will", metadata: ["tasks": "\(released.count)", "error": "\(error)"])
        }
    }

    private func sendAcks() async {
        while !Task.isCancelled {
            let batch = self.state.withLock { state -> [(entry: QueueEntry, due: Int64)] in
                let batch = Array(state.acks.prefix(Self.maxBatch))
                state.acks.removeFirst(batch.count)
                state.acking = batch.count
                return batch
            }
            guard !batch.isEmpty else { return }
            let sent: Void? = await self.retry.run("could not acknowledge finished attempts; retrying", metadata: ["entries": "\(batch.count)"]) {
                try await self.broker.acknowledge(workerID: self.workerID, batch)
            }
            self.state.withLock { state in
                // Cancelled: what was not sent stays in flight (see `run`).
                if sent == nil { state.acks.insert(contentsOf: batch, at: 0) }
                state.acking = 0
            }
        }
    }
}

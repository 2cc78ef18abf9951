import BatonModel
import BatonStore
import Foundation
import Logging
import Synchronization

/// The deferred start (docs/deferred-start.md): an attempt begins on a read
/// and its worker's claim in Redis, with no MySQL write; the outcome write
/// of an attempt that ends within `window` records its start too (one row
/// change per task instead of two). An attempt still running `window` after
/// it got its slot gets its start written here, batched with the others of
/// that moment, and reads RUNNING in MySQL from then on as before (the
/// timeout recovery and the lists see it). A start write refused means the
/// row moved on (cancelled, or this worker fenced): the attempt is stopped.
///
/// The window is also what bounds a restore after Redis lost its data: the
/// leader waits a heartbeat TTL before it requeues waiting rows, by when
/// every attempt that began before the loss has its start or outcome written.
final class StartRecorder: Sendable {
    private struct Key: Hashable {
        var taskID: String
        var attempt: Int
    }

    private enum Phase {
        case pending(due: ContinuousClock.Instant)
        case writing
        case written
    }

    private struct Attempt {
        var task: TaskRecord
        var startedAt: Date
        var signal: CancelSignal
        var phase: Phase
    }

    private let window: Duration
    private let state: WorkerState
    private let attempts = Mutex<[Key: Attempt]>([:])
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Start writes, tried again until MySQL answers (50 ms doubling to 1 s).
    private let retry: LeaseRetry

    init(window: Duration, state: WorkerState) {
        self.window = window
        self.state = state
        (self.wakes, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.retry = LeaseRetry(first: .milliseconds(50), cap: .seconds(1), logger: state.logger)
    }

    /// The attempt got its slot: its start is written if it still runs
    /// `window` from now. With a window of zero the consumer wrote it
    /// before the attempt began.
    func began(_ task: TaskRecord, startedAt: Date, signal: CancelSignal) {
        let key = Key(taskID: task.taskID, attempt: task.attempt)
        let phase: Phase = self.window == .zero ? .written : .pending(due: .now + self.window)
        self.attempts.withLock { $0[key] = Attempt(task: task, startedAt: startedAt, signal: signal, phase: phase) }
        if self.window > .zero { self.wake.yield() }
    }

    /// The attempt ended (or never began): no start is written for it from
    /// now on. True when its start was written (its row reads RUNNING); a
    /// write under way is waited for, so the caller knows which.
    func settle(_ task: TaskRecord) async -> Bool {
        let key = Key(taskID: task.taskID, attempt: task.attempt)
        while true {
            let phase = self.attempts.withLock { attempts -> Phase? in
                guard let phase = attempts[key]?.phase else { return nil }
                if case .writing = phase { return phase }
                attempts[key] = nil
                return phase
            }
            switch phase {
            case nil, .pending: return false
            case .written: return true
            case .writing: try? await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// Writes the starts that come due until the worker's task group ends.
    func run() async {
        var wakes = self.wakes.makeAsyncIterator()
        while !Task.isCancelled {
            let next = self.attempts.withLock { attempts in
                attempts.values.compactMap { attempt -> ContinuousClock.Instant? in
                    if case .pending(let due) = attempt.phase { return due }
                    return nil
                }.min()
            }
            guard let next else {
                guard await wakes.next() != nil else { return }
                continue
            }
            if next > .now {
                guard (try? await Task.sleep(until: next)) != nil else { return }
            }
            await self.writeDue()
        }
    }

    /// One statement per take batch (its attempts share their start time)
    /// for every attempt due now or within 5 ms.
    private func writeDue() async {
        let horizon = ContinuousClock.now + .milliseconds(5)
        let due = self.attempts.withLock { attempts -> [Attempt] in
            var due: [Attempt] = []
            for (key, attempt) in attempts {
                guard case .pending(let at) = attempt.phase, at <= horizon else { continue }
                attempts[key]?.phase = .writing
                due.append(attempt)
            }
            return due
        }
        for (startedAt, group) in Dictionary(grouping: due, by: \.startedAt) {
            let claims = group.map { (taskID: $0.task.taskID, generation: $0.task.generation) }
            var tried = false
            let written = await self.retry.run("could not write the start of running attempts; retrying", metadata: ["tasks": "\(group.count)"]) {
                // A try whose answer was lost may have landed: the next one reads what it started.
                try await self.state.tasks.start(
                    claims, workerID: self.state.workerID, cluster: self.state.broker.cluster, now: startedAt, earlier: tried ? [startedAt] : [],
                    checksPause: false
                )
            } failed: { _ in
                tried = true
                return !self.state.isStopping
            }
            let landed = Set((written ?? []).map(\.taskID))
            self.attempts.withLock { attempts in
                for attempt in group {
                    let key = Key(taskID: attempt.task.taskID, attempt: attempt.task.attempt)
                    if landed.contains(attempt.task.taskID) { attempts[key]?.phase = .written } else { attempts[key] = nil }
                }
            }
            // The row moved on while the attempt ran (a cancel that found it
            // waiting), or this worker was fenced: nothing of it may land.
            // The write does not check a pause, so a row it refused that
            // still waits at the attempt's generation refused this worker: a
            // fence, whose attempt records nothing (the leader reclaimed its
            // entry), where a cancel's is counted and acknowledged.
            guard written != nil else { continue }
            let refused = group.filter { !landed.contains($0.task.taskID) }
            guard !refused.isEmpty else { continue }
            let fenced = (try? await self.state.tasks.stillWaiting(refused.map { ($0.task.taskID, $0.task.generation) })) ?? []
            for attempt in refused { attempt.signal.fire(fenced.contains(attempt.task.taskID) ? .fenced : .cancelled) }
        }
    }
}

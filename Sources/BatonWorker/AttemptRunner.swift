import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging
import Tracing

/// Runs the attempts a worker started, one child task each: waits for the
/// attempt's slot (in start order, high priority first), calls its executor
/// under its deadline and cancel signal, then records its outcome with the
/// slot already given to the next attempt: succeeded, failed or timed out
/// (retried or ended, `RetryDecision`), cancelled, or handed back unspent
/// (stopped, or no slot within `readyLimit`).
final class AttemptRunner: Sendable {
    private let state: WorkerState
    private let configs: TaskConfigCache
    private let registry: ExecutorRegistry
    private let logs: TaskLogWriter
    private let metrics = TaskMetrics()
    /// Wakes the deadline watch when attempts start.
    private let starts: AsyncStream<Void>.Continuation
    /// Writes the start of an attempt still running after the window.
    private let startRecorder: StartRecorder
    /// Configuration reads, tried again within the attempt's deadline (100 ms doubling to 2 s).
    private let readRetry: LeaseRetry
    /// Set when the node traces: a span per attempt (`AttemptTrace`).
    private let tracer: (any Tracer)?

    init(
        state: WorkerState, configs: TaskConfigCache, registry: ExecutorRegistry, logs: TaskLogWriter, starts: AsyncStream<Void>.Continuation,
        startRecorder: StartRecorder, tracer: (any Tracer)? = nil
    ) {
        self.startRecorder = startRecorder
        self.tracer = tracer
        self.state = state
        self.configs = configs
        self.registry = registry
        self.logs = logs
        self.starts = starts
        self.readRetry = LeaseRetry(first: .milliseconds(100), cap: .seconds(2), logger: state.logger)
    }

    private enum Outcome {
        case succeeded(String)
        case failed(ExecutionFailure)
        case timedOut
        case cancelled
        case shutdown
        case fenced
        /// No slot came within `readyLimit`: back to the queue, the attempt not spent.
        case handedBack

        /// Why the attempt did not succeed (its span's error), nil when it did.
        var failure: String? {
            switch self {
            case .succeeded: nil
            case .failed(let failure): failure.message
            default: "\(self)"
            }
        }
    }

    /// Runs one started attempt once a slot is free (in start order), then
    /// records its outcome with the slot already given to the next. The
    /// attempt's timeout counts from its slot, not from its start write.
    func execute(_ task: TaskRecord, signal: CancelSignal, startedAt: Date) async {
        defer {
            self.state.running.settled(task)
            self.state.slots.settled()
        }
        let log = self.taskLogger(task)
        let outcome: Outcome
        var elapsed = Duration.zero
        switch await self.state.slots.acquire(high: task.priority == .high) {
        case .granted:
            (outcome, elapsed) = await self.run(task, signal: signal, startedAt: startedAt, log: log)
        case .stopped:
            // Stopped while waiting for a slot: nothing ran.
            self.state.slots.skipped()
            outcome = self.state.isFenced ? .fenced : .shutdown
        case .expired:
            self.state.slots.skipped()
            outcome = signal.reason == .cancelled ? .cancelled : .handedBack
        }
        let settling = ContinuousClock.now
        // From here no start is written for it; whether one was decides how it goes back.
        let startWritten = await self.startRecorder.settle(task)
        do {
            try await self.record(outcome, of: task, startedAt: startedAt, startWritten: startWritten, elapsed: elapsed, log: log)
        } catch {
            // The entry stays in flight; the leader's timeout recovery settles the task.
            self.state.logger.error("could not record outcome", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
        }
        self.state.prefetch.withLock { $0.settled(seconds: (ContinuousClock.now - settling).seconds) }
        self.logs.forget(task.taskID)
    }

    /// Runs an attempt that has its slot, under a deadline counted from now;
    /// returns how it ended and how long it ran.
    private func run(_ task: TaskRecord, signal: CancelSignal, startedAt: Date, log: TaskLogger) async -> (Outcome, Duration) {
        let began = ContinuousClock.now
        let deadline = began + .seconds(task.timeoutSeconds)
        self.state.running.began(task, deadline: deadline)
        self.startRecorder.began(task, startedAt: startedAt, signal: signal)
        self.starts.yield()
        self.logs.hold(
            TaskLogRecord(
                taskID: task.taskID, attempt: task.attempt, workerID: self.state.workerID, level: "INFO",
                message: "started attempt \(task.attempt) on worker \(self.state.workerID)", createdAt: self.state.broker.clock.now()
            )
        )
        self.metrics.started(task.taskType)
        let trace = self.tracer.map { AttemptTrace(task, workerID: self.state.workerID, tracer: $0) }
        let context = ExecutionContext(
            taskID: task.taskID, taskType: task.taskType, attempt: task.attempt, workerID: self.state.workerID,
            deadline: self.state.broker.clock.now().addingTimeInterval(TimeInterval(task.timeoutSeconds)), deadlineInstant: deadline, log: log,
            dependencyResults: task.dependencyResults, args: task.args, traceparent: trace?.traceparent
        )
        let outcome = await self.outcome(of: task, signal: signal, context: context)
        trace?.end(failure: outcome.failure)
        let elapsed = ContinuousClock.now - began
        self.state.slots.executed()
        self.metrics.executed(task.taskType, took: elapsed)
        self.state.prefetch.withLock { $0.executed(seconds: elapsed.seconds) }
        return (outcome, elapsed)
    }

    private func outcome(of task: TaskRecord, signal: CancelSignal, context: ExecutionContext) async -> Outcome {
        // Cancelled or stopped while it waited for its slot: no call at all.
        if let reason = signal.reason, let ended = Self.outcome(reason) { return ended }
        let config: TaskConfigRecord
        switch await self.config(of: task, signal: signal, until: context.deadlineInstant) {
        case .found(let found): config = found
        case .missing: return .failed(ExecutionFailure("task type \(task.taskType) is not configured", retryable: false))
        case .unavailable: return .failed(ExecutionFailure("task type configuration unavailable (the configuration store did not answer)", retryable: true))
        case .ended(let reason): return Self.outcome(reason) ?? .cancelled
        }
        // A disabled type refuses new tasks only: what it accepted still runs.
        guard let executor = self.registry.executor(for: config.executor) else {
            return .failed(ExecutionFailure("no \(config.executor.rawValue) executor on worker \(self.state.workerID)", retryable: false))
        }
        // One child runs the executor; the first way the attempt ends fires
        // the signal, and anything but the executor's own end cancels it.
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                defer { signal.fire(.finished) }
                do {
                    return .succeeded(try await executor.execute(context, payload: task.payload, config: config))
                } catch let failure as ExecutionFailure {
                    return .failed(failure)
                } catch is CancellationError {
                    return nil
                } catch {
                    return .failed(ExecutionFailure("\(error)", retryable: true))
                }
            }
            await signal.wait()
            let reason = signal.reason ?? .finished
            if reason != .finished { group.cancelAll() }
            var result: Outcome?
            for await outcome in group { result = outcome }
            return Self.outcome(reason) ?? result ?? .failed(ExecutionFailure("the executor was cancelled", retryable: true))
        }
    }

    /// How an attempt ends when something other than its executor ended it.
    private static func outcome(_ reason: CancelSignal.Reason) -> Outcome? {
        switch reason {
        case .finished: nil
        case .timedOut: .timedOut
        case .cancelled: .cancelled
        case .shutdown: .shutdown
        case .fenced: .fenced
        }
    }

    private enum ConfigRead {
        case found(TaskConfigRecord)
        case missing
        case unavailable
        case ended(CancelSignal.Reason)
    }

    /// The type's configuration, read again while the store does not answer
    /// (a MySQL restart must not fail the attempt), until the attempt's
    /// deadline or until it is cancelled or stopped. The store's own error
    /// (hosts, ports, server messages) goes to the process log only, never
    /// to the task.
    private func config(of task: TaskRecord, signal: CancelSignal, until deadline: ContinuousClock.Instant) async -> ConfigRead {
        let read = await self.readRetry.run(
            "task type configuration unavailable; reading it again", metadata: ["task_id": "\(task.taskID)", "task_type": "\(task.taskType)"],
            until: deadline
        ) {
            try await self.configs.config(task.taskType).map(ConfigRead.found) ?? .missing
        } failed: { _ in
            signal.reason.map { $0 == .finished } ?? true
        }
        if let read { return read }
        if let reason = signal.reason, reason != .finished { return .ended(reason) }
        return .unavailable
    }

    private func record(_ outcome: Outcome, of task: TaskRecord, startedAt: Date, startWritten: Bool, elapsed: Duration, log: TaskLogger) async throws {
        let entry = QueueEntry(task)
        let took = "\(elapsed.wholeMilliseconds) ms"
        let lease = AttemptLease.end(startedAt: startedAt, timeoutSeconds: task.timeoutSeconds)
        switch outcome {
        case .succeeded(let result):
            let attempt = FinishedAttempt(
                taskID: task.taskID, attempt: task.attempt, status: .succeeded, result: self.cap(result, self.state.configuration.maxResultBytes),
                tenant: task.tenant, hasDependents: task.hasDependents, generation: task.generation, startedAt: startedAt
            )
            if try await self.state.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: 0, lease: lease)) {
                // A plain success within the quiet window leaves no lines (see `TaskLogWriter`).
                if !self.logs.endQuietly(task.taskID) { log.info("succeeded in \(took)") }
                self.metrics.ended(task.taskType, .succeeded)
            } else if !startWritten {
                await self.countUnwritten(task, startedAt: startedAt)
            }
        case .failed(let failure):
            try await self.fail(
                task, entry: entry, message: failure.message, failure: .failed(retryable: failure.retryable), startedAt: startedAt, startWritten: startWritten,
                lease: lease, log: log, took: took
            )
        case .timedOut:
            try await self.fail(
                task, entry: entry, message: "timed out after \(task.timeoutSeconds) s", failure: .timedOut, startedAt: startedAt, startWritten: startWritten,
                lease: lease, log: log, took: took
            )
        case .cancelled:
            log.info("cancelled while running attempt \(task.attempt); aborted after \(took)")
            self.metrics.ended(task.taskType, .cancelled)
            if !startWritten { await self.countUnwritten(task, startedAt: startedAt) }
            self.state.outcomes.acknowledge([entry])
        case .fenced:
            // The leader gave the task to another worker: nothing of this attempt is recorded.
            break
        case .handedBack:
            try await self.handBackUnspent(task, entry: entry, startWritten: startWritten)
            log.info("no free slot on worker \(self.state.workerID) within \(self.state.configuration.readyLimit): back to the queue unstarted")
        case .shutdown:
            if try await self.handBackUnspent(task, entry: entry, startWritten: startWritten) {
                log.warn("worker \(self.state.workerID) stopping: attempt \(task.attempt) handed back unfinished")
            }
        }
    }

    /// Undoes a written start (QUEUED again, the attempt not spent), then
    /// puts the entry back at the front of its queue; an entry whose row
    /// moved on (a cancel) is only acknowledged. An attempt whose start was
    /// never written left its row as it was: only its entry goes back. True
    /// when the row was still this attempt's.
    @discardableResult
    private func handBackUnspent(_ task: TaskRecord, entry: QueueEntry, startWritten: Bool) async throws -> Bool {
        if startWritten, try await !self.state.tasks.undoStart(task.taskID, attempt: task.attempt, now: self.state.broker.clock.now()) {
            self.state.outcomes.acknowledge([entry])
            return false
        }
        try await self.state.broker.handBackInFlight(workerID: self.state.workerID, [entry])
        return true
    }

    private func fail(
        _ task: TaskRecord, entry: QueueEntry, message: String, failure: RetryDecision.Failure, startedAt: Date, startWritten: Bool, lease: Date,
        log: TaskLogger, took: String
    ) async throws {
        let error = self.cap(message, self.state.configuration.maxErrorBytes)
        let what = switch failure {
        case .failed: "failed"
        case .timedOut: "timed out"
        }
        let decision = await RetryDecision(task, after: failure, now: self.state.broker.clock.now()) {
            (try? await self.configs.config(task.taskType))??.retryBackoffMs
        }
        switch decision {
        case .retry(let at):
            let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: .retrying, error: error, tenant: task.tenant, retryAt: at,
                                          hasDependents: task.hasDependents, generation: task.generation, startedAt: startedAt)
            if try await self.state.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: decision.retryDue, lease: lease)) {
                log.warn("\(what) after \(took): \(message); retry scheduled for \(ISO8601DateFormatter().string(from: at))")
                self.metrics.ended(task.taskType, .retried)
            } else if !startWritten {
                await self.countUnwritten(task, startedAt: startedAt)
            }
        case .end(let final):
            let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: final, error: error, tenant: task.tenant,
                                          hasDependents: task.hasDependents, generation: task.generation, startedAt: startedAt)
            if try await self.state.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: 0, lease: lease)) {
                log.error("\(what) after \(took): \(message)")
                self.metrics.ended(task.taskType, final == .timeout ? .timedOut : .failed)
            } else if !startWritten {
                await self.countUnwritten(task, startedAt: startedAt)
            }
        }
    }

    /// An attempt that ran with its start unwritten, ended by a cancel that
    /// did not count it (it read no claim yet): counted on the row, so that
    /// the row says it began. Best effort: the row is final either way.
    private func countUnwritten(_ task: TaskRecord, startedAt: Date) async {
        do {
            try await self.state.tasks.countCancelledAttempt(
                task.taskID, attempt: task.attempt, generation: task.generation, workerID: self.state.workerID, startedAt: startedAt
            )
        } catch {
            self.state.logger.debug("could not count a cancelled attempt", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
        }
    }

    private func cap(_ text: String, _ limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        return String(decoding: text.utf8.prefix(limit), as: UTF8.self) + "…(truncated)"
    }

    private func taskLogger(_ task: TaskRecord) -> TaskLogger {
        TaskLogger { [logs, clock = self.state.broker.clock, workerID = self.state.workerID] level, message in
            logs.write(TaskLogRecord(taskID: task.taskID, attempt: task.attempt, workerID: workerID, level: level, message: message, createdAt: clock.now()))
        }
    }
}

import BatonBroker
import BatonModel
import BatonRedis
import BatonStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Consumes this worker's queue reliably (BLMOVE into its in-flight list),
/// runs at most `capacity` attempts at once through the executor registry,
/// and records each outcome: a conditional MySQL update first, then the
/// in-flight entry acknowledged. Cancel signals and timeouts abort the
/// running executor call. On a graceful stop it takes no more work, waits up
/// to the grace period, then hands unfinished tasks back to the front of
/// their queues without spending their attempt, and deregisters.
public final class Worker: Service, Sendable {
    private struct Running {
        var signal: CancelSignal
        var deadline: ContinuousClock.Instant
    }

    public let configuration: WorkerConfiguration
    private let broker: RedisBroker
    private let tasks: TaskStore
    private let configs: TaskConfigCache
    private let registry: ExecutorRegistry
    private let hub: EventHub
    private let logs: TaskLogWriter
    private let logger: Logger
    private let slots: SlotPool
    private let outcomes: OutcomeRecorder
    private let metrics = TaskMetrics()
    /// Wakes the deadline watch when attempts start.
    private let starts: AsyncStream<Void>.Continuation
    private let startEvents: AsyncStream<Void>
    private let running = Mutex<[String: Running]>([:])
    private let stopping = Atomic<Bool>(false)
    private let policy = RetryPolicy()

    public init(
        configuration: WorkerConfiguration,
        broker: RedisBroker,
        tasks: TaskStore,
        configs: TaskConfigCache,
        registry: ExecutorRegistry,
        hub: EventHub,
        logs: TaskLogWriter,
        logger: Logger
    ) {
        self.configuration = configuration
        self.broker = broker
        self.tasks = tasks
        self.configs = configs
        self.registry = registry
        self.hub = hub
        self.logs = logs
        self.logger = logger
        self.slots = SlotPool(capacity: configuration.capacity)
        self.outcomes = OutcomeRecorder(workerID: configuration.workerID, tasks: tasks, broker: broker)
        (self.startEvents, self.starts) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The heartbeat service that goes with this worker.
    public func heartbeat() -> WorkerHeartbeat {
        WorkerHeartbeat(
            broker: self.broker, configuration: self.configuration,
            load: { [self] in (self.slots.used, self.stopping.load(ordering: .relaxed)) }, logger: self.logger
        )
    }

    public var runningCount: Int { self.slots.used }

    public func run() async throws {
        let cancels = self.hub.subscribe { event in
            if case .cancel = event { return true }
            return false
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.outcomes.run() }
            group.addTask { await self.watchDeadlines() }
            group.addTask {
                for await case .cancel(let taskID) in cancels {
                    self.running.withLock { $0[taskID] }?.signal.fire(.cancelled)
                }
            }
            await withGracefulShutdownHandler {
                await self.consume(group: &group)
            } onGracefulShutdown: {
                self.stopping.store(true, ordering: .relaxed)
                self.slots.interrupt()
            }
            await self.drain()
            group.cancelAll()
        }
    }

    // MARK: consuming

    private var isStopping: Bool { self.stopping.load(ordering: .relaxed) || Task.isCancelled }

    private func consume(group: inout DiscardingTaskGroup) async {
        let keys = self.broker.keys
        let queue = keys.workerQueue(self.configuration.workerID)
        let inFlight = keys.workerInFlight(self.configuration.workerID)
        while !self.isStopping {
            do {
                try await self.broker.redis.withBlockingConnection { connection in
                    while !self.isStopping {
                        await self.slots.waitForFree()
                        if self.isStopping { return }
                        // While busy, let a few more attempts end so one start
                        // statement covers several tasks (at most 1 ms later).
                        if self.slots.used > 0 && self.slots.free < self.slots.capacity / 4 {
                            try? await Task.sleep(for: .milliseconds(1))
                        }
                        guard let first = try await connection.blmove(from: queue, to: inFlight, timeout: self.configuration.pollTimeout) else { continue }
                        var members = [String(decoding: first, as: UTF8.self)]
                        let free = self.slots.free
                        if free > 1 {
                            let more = try await self.broker.redis.run(BrokerScripts.takeMore, keys: [queue, inFlight], arguments: [free - 1])
                            members += (more.array ?? []).compactMap(\.string)
                        }
                        let entries = members.compactMap { QueueEntry(member: $0) }
                        try await self.start(entries, group: &group)
                    }
                }
            } catch {
                if self.isStopping { return }
                self.logger.warning("worker queue unavailable, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Starts a batch: one conditional update for all, then one child task
    /// each. Entries whose task was cancelled or finished meanwhile are
    /// dropped from the in-flight list without running.
    private func start(_ entries: [QueueEntry], group: inout DiscardingTaskGroup) async throws {
        let now = Date().roundedToMicroseconds
        let started: [TaskRecord]
        do {
            started = try await self.tasks.start(entries.map(\.taskID), workerID: self.configuration.workerID, now: now)
        } catch {
            // MySQL is away: the entries stay in flight; hand them back for later.
            try? await self.broker.handBack(workerID: self.configuration.workerID, entries)
            throw error
        }
        let startedIDs = Set(started.map(\.taskID))
        let skipped = entries.filter { !startedIDs.contains($0.taskID) }
        if !skipped.isEmpty {
            try await self.broker.finish(workerID: self.configuration.workerID, skipped.map { ($0, 0) })
        }
        self.slots.take(started.count)
        for task in started {
            let signal = CancelSignal()
            let deadline = ContinuousClock.now + .seconds(task.timeoutSeconds)
            self.running.withLock { $0[task.taskID] = Running(signal: signal, deadline: deadline) }
            group.addTask { await self.execute(task, signal: signal, startedAt: now) }
        }
        if !started.isEmpty { self.starts.yield() }
        try await self.broker.announce(started.map(\.taskID))
    }

    /// Ends attempts that run past their deadline, checking four times a
    /// second while any runs (timeouts are whole seconds) and not at all when idle.
    private func watchDeadlines() async {
        var starts = self.startEvents.makeAsyncIterator()
        while !Task.isCancelled {
            if self.running.withLock({ $0.isEmpty }) {
                guard await starts.next() != nil else { return }
                continue
            }
            guard (try? await Task.sleep(for: .milliseconds(250))) != nil else { return }
            let now = ContinuousClock.now
            let overdue = self.running.withLock { $0.values.filter { $0.deadline <= now }.map(\.signal) }
            for signal in overdue { signal.fire(.timedOut) }
        }
    }

    // MARK: running one attempt

    private enum Outcome {
        case succeeded(String)
        case failed(ExecutionFailure)
        case timedOut
        case cancelled
        case shutdown
    }

    private func execute(_ task: TaskRecord, signal: CancelSignal, startedAt: Date) async {
        defer {
            _ = self.running.withLock { $0.removeValue(forKey: task.taskID) }
            self.slots.release()
        }
        let log = self.taskLogger(task)
        log.info("started attempt \(task.attempt) on worker \(self.configuration.workerID)")
        self.metrics.started(task.taskType)
        let clock = ContinuousClock.now
        let outcome = await self.outcome(of: task, signal: signal, log: log, startedAt: startedAt)
        let elapsed = ContinuousClock.now - clock
        self.metrics.executed(task.taskType, took: elapsed)
        do {
            try await self.record(outcome, of: task, elapsed: elapsed, log: log)
        } catch {
            // The entry stays in flight; the leader's timeout recovery settles the task.
            self.logger.error("could not record outcome", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
        }
        self.logs.forget(task.taskID)
    }

    private func outcome(of task: TaskRecord, signal: CancelSignal, log: TaskLogger, startedAt: Date) async -> Outcome {
        let config: TaskConfigRecord
        do {
            guard let found = try await self.configs.config(task.taskType) else {
                return .failed(ExecutionFailure("task type \(task.taskType) is not configured", retryable: false))
            }
            config = found
        } catch {
            return .failed(ExecutionFailure("task type configuration unavailable: \(error)", retryable: true))
        }
        guard config.enabled else { return .failed(ExecutionFailure("task type \(task.taskType) is disabled", retryable: false)) }
        guard let executor = self.registry.executor(for: config.executor) else {
            return .failed(ExecutionFailure("no \(config.executor.rawValue) executor on worker \(self.configuration.workerID)", retryable: false))
        }
        let deadline = startedAt.addingTimeInterval(TimeInterval(task.timeoutSeconds))
        let context = ExecutionContext(
            taskID: task.taskID, taskType: task.taskType, attempt: task.attempt,
            workerID: self.configuration.workerID, deadline: deadline, log: log
        )
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
            switch reason {
            case .finished: return result ?? .failed(ExecutionFailure("the executor was cancelled", retryable: true))
            case .timedOut: return .timedOut
            case .cancelled: return .cancelled
            case .shutdown: return .shutdown
            }
        }
    }

    private func record(_ outcome: Outcome, of task: TaskRecord, elapsed: Duration, log: TaskLogger) async throws {
        let entry = QueueEntry(task)
        let took = "\(elapsed.wholeMilliseconds) ms"
        switch outcome {
        case .succeeded(let result):
            let attempt = FinishedAttempt(
                taskID: task.taskID, attempt: task.attempt, status: .succeeded, result: self.cap(result, self.configuration.maxResultBytes)
            )
            if try await self.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: 0)) {
                log.info("succeeded in \(took)")
                self.metrics.ended(task.taskType, .succeeded)
            }
        case .failed(let failure):
            try await self.fail(task, entry: entry, message: failure.message, retryable: failure.retryable, final: .failed, log: log, took: took)
        case .timedOut:
            try await self.fail(task, entry: entry, message: "timed out after \(task.timeoutSeconds) s", retryable: true, final: .timeout, log: log, took: took)
        case .cancelled:
            log.info("cancelled while running attempt \(task.attempt); aborted after \(took)")
            self.metrics.ended(task.taskType, .cancelled)
            try await self.broker.finish(workerID: self.configuration.workerID, [(entry, 0)])
        case .shutdown:
            if try await self.tasks.handBack(task.taskID, attempt: task.attempt) {
                log.warn("worker \(self.configuration.workerID) stopping: attempt \(task.attempt) handed back unfinished")
            }
            try await self.broker.handBack(workerID: self.configuration.workerID, [entry])
        }
    }

    private func fail(
        _ task: TaskRecord, entry: QueueEntry, message: String, retryable: Bool, final: TaskStatus, log: TaskLogger, took: String
    ) async throws {
        let error = self.cap(message, self.configuration.maxErrorBytes)
        let what = final == .timeout ? "timed out" : "failed"
        if retryable && self.policy.retriesLeft(task) {
            let backoff = (try? await self.configs.config(task.taskType))??.retryBackoffMs ?? 1000
            let at = Date().addingTimeInterval(self.policy.delay(after: task, baseBackoffMs: backoff))
            let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: .retrying, error: error)
            if try await self.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: Int64(at.timeIntervalSince1970 * 1000))) {
                log.warn("\(what) after \(took): \(message); retry scheduled for \(ISO8601DateFormatter().string(from: at))")
                self.metrics.ended(task.taskType, .retried)
            }
        } else {
            let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: final, error: error)
            if try await self.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: 0)) {
                log.error("\(what) after \(took): \(message)")
                self.metrics.ended(task.taskType, final == .timeout ? .timedOut : .failed)
            }
        }
    }

    private func cap(_ text: String, _ limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        return String(decoding: text.utf8.prefix(limit), as: UTF8.self) + "…(truncated)"
    }

    private func taskLogger(_ task: TaskRecord) -> TaskLogger {
        TaskLogger { [logs, workerID = self.configuration.workerID] level, message in
            logs.write(TaskLogRecord(taskID: task.taskID, attempt: task.attempt, workerID: workerID, level: level, message: message, createdAt: Date()))
        }
    }

    // MARK: graceful stop

    /// Waits up to the grace period for running attempts, then stops the
    /// rest; what still waits on this worker's queue goes back too.
    private func drain() async {
        // The dispatcher skips a draining worker from now on.
        try? await self.broker.redis.send("HSET", self.broker.keys.worker(self.configuration.workerID), "draining", "1")
        let deadline = ContinuousClock.now + self.configuration.gracePeriod
        while self.slots.used > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = self.running.withLock { Array($0.values) }
        for running in left { running.signal.fire(.shutdown) }
        while self.slots.used > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await self.logs.flush()
        do {
            try await self.broker.reclaim(workerID: self.configuration.workerID)
        } catch {
            self.logger.warning("could not hand back this worker's queue; the leader will", metadata: ["error": "\(error)"])
        }
    }
}

import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Consumes this worker's queues reliably (one script moves entries, high
/// first, into its in-flight list; high work also has a lane of its own),
/// runs at most `capacity` attempts at once through the executor registry,
/// and records each outcome: a conditional MySQL update first, then the
/// in-flight entry acknowledged. A slot is an execution: it frees when the
/// executor returns, while the outcome is still being written, and the
/// worker asks for as much work as its pipeline needs to keep its slots busy
/// (`Prefetch`, published as the worker's window). Cancel signals and timeouts abort the
/// running executor call. On a graceful stop it takes no more work, waits up
/// to the grace period, then hands unfinished tasks back to the front of
/// their queues without spending their attempt, and deregisters.
///
/// Faults: a start whose answer was lost is tried again until MySQL answers,
/// claiming what the lost try started; outcomes and acknowledgements are
/// retried (`OutcomeRecorder`); what cannot be settled stays on the
/// worker's in-flight list, and the worker then stays registered so the
/// leader recovers it once its heartbeat stops. A worker the leader declared
/// dead (cut off longer than the heartbeat TTL) stops its attempts, which run
/// elsewhere by then, and ends with `WorkerFenced`.
public final class Worker: Service, Sendable {
    private struct Running {
        var signal: CancelSignal
        /// Set when the attempt gets its slot: its timeout counts from then.
        var deadline: ContinuousClock.Instant?
    }

    /// Running attempts are keyed by task and attempt: one task may come back
    /// to the same worker as a new attempt while its last one still ends.
    private struct AttemptKey: Hashable {
        var taskID: String
        var attempt: Int
    }

    public let configuration: WorkerConfiguration
    /// Created → started of the attempts this worker starts, in milliseconds
    /// (the dashboard's start-latency chart drains it).
    public let startLatency = LatencyWindow()
    private let broker: RedisBroker
    private let tasks: TaskStore
    private let configs: TaskConfigCache
    private let registry: ExecutorRegistry
    private let logs: TaskLogWriter
    private let logger: Logger
    private let slots: ExecutionSlots
    private let prefetch: Mutex<Prefetch>
    private let outcomes: OutcomeRecorder
    private let metrics = TaskMetrics()
    /// Wakes the deadline watch when attempts start.
    private let starts: AsyncStream<Void>.Continuation
    private let startEvents: AsyncStream<Void>
    /// Ends when the high lane takes no more work: the graceful stop waits
    /// for it, so an attempt the lane is starting is counted before the
    /// stop looks at what is held.
    private let highLaneStopped: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation) = AsyncStream.makeStream()
    private let running = Mutex<[AttemptKey: Running]>([:])
    private let stopping = Atomic<Bool>(false)
    private let fenced = Atomic<Bool>(false)
    private let policy = RetryPolicy()

    public init(
        configuration: WorkerConfiguration,
        broker: RedisBroker,
        tasks: TaskStore,
        configs: TaskConfigCache,
        registry: ExecutorRegistry,
        logs: TaskLogWriter,
        logger: Logger
    ) {
        self.configuration = configuration
        self.broker = broker
        self.tasks = tasks
        self.configs = configs
        self.registry = registry
        self.logs = logs
        self.logger = logger
        self.slots = ExecutionSlots(capacity: configuration.capacity)
        self.prefetch = Mutex(Prefetch(capacity: configuration.capacity, maxWindow: configuration.maxWindow))
        self.outcomes = OutcomeRecorder(workerID: configuration.workerID, tasks: tasks, broker: broker, logger: logger)
        (self.startEvents, self.starts) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The heartbeat service that goes with this worker.
    public func heartbeat() -> WorkerHeartbeat {
        WorkerHeartbeat(
            broker: self.broker, configuration: self.configuration,
            draining: { [self] in self.stopping.load(ordering: .relaxed) },
            window: { [self] in self.window },
            capabilities: { [registry = self.registry] in registry.capabilities() },
            fenced: { [self] in self.fence() },
            logger: self.logger
        )
    }

    /// Attempts started and not yet settled.
    public var runningCount: Int { self.slots.held }

    /// Entries the dispatcher may let this worker hold: what its pipeline
    /// needs (`Prefetch`), plus the outcomes being written right now, so a
    /// slow outcome write never holds back new work (those are bounded on
    /// their own: the consumer waits while `maxWindow` of them settle).
    public var window: Int {
        let (window, saturated) = self.prefetch.withLock { ($0.window, $0.saturated) }
        return saturated ? 0 : window + self.slots.settling
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.outcomes.run() }
            group.addTask { await self.watchDeadlines() }
            group.addTask { await self.watchReadyWaits() }
            group.addTask { await self.watchCancels() }
            group.addTask { await self.publishWindow() }
            group.addTask { await self.consumeHighLane() }
            await withGracefulShutdownHandler {
                await self.consume(group: &group)
            } onGracefulShutdown: {
                self.stopping.store(true, ordering: .relaxed)
                self.slots.interrupt()
            }
            await self.drain()
            group.cancelAll()
        }
        if self.fenced.load(ordering: .relaxed) { throw WorkerFenced(workerID: self.configuration.workerID) }
    }

    /// The leader declared this worker dead: its tasks run elsewhere by now.
    /// Stops every attempt (their outcomes would no longer apply) and the worker.
    private func fence() {
        guard !self.fenced.exchange(true, ordering: .relaxed) else { return }
        self.logger.critical(
            "this worker was declared dead (cut off longer than the heartbeat TTL); its tasks run elsewhere; stopping",
            metadata: ["worker_id": "\(self.configuration.workerID)"]
        )
        self.stopping.store(true, ordering: .relaxed)
        self.slots.interrupt()
        let signals = self.running.withLock { $0.values.map(\.signal) }
        for signal in signals { signal.fire(.fenced) }
    }

    // MARK: consuming

    private var isStopping: Bool { self.stopping.load(ordering: .relaxed) || Task.isCancelled }

    /// Takes what waits on this worker's queues (high priority first) into
    /// its in-flight list: as many as slots are free, plus the attempts the
    /// slots finish while one start write is under way (`Prefetch.burst`).
    /// When nothing waits, it blocks until the dispatcher rings its bell.
    private func consume(group: inout DiscardingTaskGroup) async {
        let workerID = self.configuration.workerID
        await self.onOwnInbox("worker queue unavailable, retrying", level: .warning) { inbox in
            while !self.isStopping {
                let (target, settleLimit) = self.prefetch.withLock { ($0.capacity + $0.burst, $0.maxWindow) }
                await self.slots.waitForRoom(target: target, settleLimit: settleLimit)
                if self.isStopping { return }
                // While busy, let a few more attempts end so one start
                // statement covers several tasks (at most 1 ms later).
                if self.slots.active > 0 && target - self.slots.active < target / 4 {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                let room = target - self.slots.active
                guard room > 0 else { continue }
                let entries = try await self.broker.take(workerID: workerID, count: room)
                if entries.isEmpty {
                    try await inbox.waitForWork(timeout: self.configuration.pollTimeout)
                    continue
                }
                try await self.start(entries, group: &group)
            }
        }
    }

    /// High-priority work has a lane of its own: the dispatcher rings this
    /// lane's bell when it gives the worker a high task, and the lane takes
    /// from the high queue only and starts what it took in a start statement
    /// of its own, so a high task never waits for the main loop's start write
    /// of a batch of normal work (10–20 ms under load); it then takes the next
    /// free slot ahead of normal attempts (`ExecutionSlots`). At most `capacity` high
    /// attempts wait for a slot at once; beyond, the main loop takes them (high
    /// first too). Normal work gets no second start statement: measured, two
    /// start writes in flight cost a tenth of the noop throughput.
    private func consumeHighLane() async {
        await withDiscardingTaskGroup { group in
            // The main loop warns when Redis is away; this one only notes it.
            await self.onOwnInbox("high lane unavailable, retrying", level: .debug) { inbox in
                while !self.isStopping {
                    let room = self.configuration.capacity - self.slots.highWaiting
                    let entries = room > 0 ? try await inbox.take(count: room, highOnly: true) : []
                    if entries.isEmpty {
                        try await inbox.waitForWork(high: true, timeout: self.configuration.pollTimeout)
                        continue
                    }
                    // Its one-row start writes would skew the pipeline's sample of the main loop's.
                    try await self.start(entries, group: &group, sampled: false)
                }
            }
            self.highLaneStopped.continuation.finish()
        }
    }

    /// Runs `body` with an inbox on a Redis connection of its own until the
    /// worker stops; when Redis fails it, logs `failure` and opens a new one
    /// half a second later.
    private func onOwnInbox(_ failure: Logger.Message, level: Logger.Level, _ body: (WorkerInbox) async throws -> Void) async {
        while !self.isStopping {
            do {
                try await self.broker.withInbox(workerID: self.configuration.workerID, body)
            } catch {
                if self.isStopping { return }
                self.logger.log(level: level, failure, metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Starts a batch: one conditional update for all, then one child task
    /// each. Entries whose task was cancelled or finished meanwhile, stale
    /// entries (of an older generation), and repeated entries of one task
    /// are dropped from the in-flight list without running; entries whose
    /// task still waits (its type was paused) go back to the front of their
    /// queue, where the dispatcher parks them.
    private func start(_ entries: [QueueEntry], group: inout DiscardingTaskGroup, sampled: Bool = true) async throws {
        var seen = Set<String>()
        var unique: [QueueEntry] = []
        var repeated: [QueueEntry] = []
        for entry in entries {
            if seen.insert(entry.taskID).inserted { unique.append(entry) } else { repeated.append(entry) }
        }
        guard let (started, now) = await self.startCommitted(unique.map { ($0.taskID, $0.generation) }, sampled: sampled) else { return }
        let startedIDs = Set(started.map(\.taskID))
        let refused = unique.filter { !startedIDs.contains($0.taskID) }
        self.slots.started(started.count)
        for task in started {
            self.startLatency.record(now.timeIntervalSince(task.createdAt) * 1000)
            let signal = CancelSignal()
            self.running.withLock { $0[AttemptKey(taskID: task.taskID, attempt: task.attempt)] = Running(signal: signal) }
            group.addTask { await self.execute(task, signal: signal, startedAt: now) }
        }
        await self.settleRefused(refused, repeated: repeated)
        do {
            try await self.broker.announce(started.map(\.taskID))
        } catch {
            self.logger.debug("could not announce starts", metadata: ["error": "\(error)"])
        }
    }

    /// Entries a start write did not start: back to their queue while their
    /// task still waits at their generation, else dropped. When MySQL cannot
    /// say, they stay in flight for the leader's recovery.
    private func settleRefused(_ refused: [QueueEntry], repeated: [QueueEntry]) async {
        var dropped = repeated
        defer { self.outcomes.acknowledge(dropped) }
        guard !refused.isEmpty else { return }
        do {
            let waiting = try await self.tasks.stillWaiting(refused.map { ($0.taskID, $0.generation) })
            dropped += refused.filter { !waiting.contains($0.taskID) }
            try await self.broker.handBack(workerID: self.configuration.workerID, refused.filter { waiting.contains($0.taskID) })
        } catch {
            self.logger.warning("could not settle entries a start write refused", metadata: ["entries": "\(refused.count)", "error": "\(error)"])
        }
    }

    /// The start statement, tried until MySQL answers: a try whose answer was
    /// lost may have committed, and the next try claims what it started.
    /// Nil when the worker stops first: the entries stay in flight, the
    /// worker stays registered, and the leader recovers them.
    private func startCommitted(_ claims: [TaskStore.StartClaim], sampled: Bool) async -> ([TaskRecord], Date)? {
        var tried: [Date] = []
        var backoff = Duration.milliseconds(50)
        while true {
            let now = self.broker.clock.now().roundedToMicroseconds
            let clock = ContinuousClock.now
            do {
                let started = try await self.tasks.start(
                    claims, workerID: self.configuration.workerID, cluster: self.broker.cluster, now: now, earlier: tried
                )
                let took = (ContinuousClock.now - clock).seconds
                if sampled { self.prefetch.withLock { $0.startWritten(seconds: took) } }
                return (started, now)
            } catch {
                tried.append(now)
                if self.isStopping { return nil }
                self.logger.warning("could not start tasks; retrying", metadata: ["tasks": "\(claims.count)", "retry_in": "\(backoff)", "error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
            }
        }
    }

    /// Publishes the window when it moved by a fifth or more since it was
    /// last published (the heartbeat carries it too), so the dispatcher
    /// follows a change of pace within a quarter second.
    private func publishWindow() async {
        var published = 0
        while !Task.isCancelled {
            let window = self.window
            if abs(window - published) * 5 >= max(published, 10) {
                do {
                    try await self.broker.publishWindow(workerID: self.configuration.workerID, window: window)
                    published = window
                } catch {
                    self.logger.debug("could not publish the window", metadata: ["error": "\(error)"])
                }
            }
            guard (try? await Task.sleep(for: .milliseconds(250))) != nil else { return }
        }
    }

    /// Aborts running attempts of tasks cancelled meanwhile, read from this
    /// worker's own cancel list (blocking on a connection of its own).
    private func watchCancels() async {
        let workerID = self.configuration.workerID
        while !Task.isCancelled {
            do {
                try await self.broker.withInbox(workerID: workerID) { inbox in
                    while !Task.isCancelled {
                        let notices = try await inbox.cancels(timeout: self.configuration.pollTimeout)
                        guard !notices.isEmpty else { continue }
                        let signals = self.running.withLock { running in
                            running.filter { key, _ in notices.contains { $0.matches(taskID: key.taskID, attempt: key.attempt) } }.map(\.value.signal)
                        }
                        for signal in signals { signal.fire(.cancelled) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                self.logger.debug("cancel list unavailable, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
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
            let overdue = self.running.withLock { $0.values.filter { $0.deadline.map { $0 <= now } ?? false }.map(\.signal) }
            for signal in overdue { signal.fire(.timedOut) }
        }
    }

    /// A start write covers the slots that free while it is under way
    /// (`Prefetch.burst`); an attempt whose slot has not come within
    /// `readyLimit` (the running calls turned out long) goes back to its
    /// queue unstarted instead of reading RUNNING while it waits. A worker
    /// whose every slot stayed busy that long is saturated: it publishes a
    /// window of 0 and hands back what waits on its own queues, so no task
    /// waits on it while another worker has a free slot; its first free slot
    /// ends that.
    private func watchReadyWaits() async {
        let limit = self.configuration.readyLimit
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: limit / 4)) != nil else { return }
            let expired = self.slots.expire(olderThan: limit)
            let saturated = self.slots.saturated(for: limit)
            if expired > 0 || saturated {
                let newly = self.prefetch.withLock { prefetch in
                    defer { prefetch.saturate() }
                    return !prefetch.saturated
                }
                if newly { try? await self.broker.publishWindow(workerID: self.configuration.workerID, window: 0) }
            }
            guard saturated, !self.isStopping else { continue }
            do {
                let moved = try await self.broker.handBackQueue(workerID: self.configuration.workerID)
                if moved > 0 {
                    self.logger.debug("every slot busy: queued work handed back", metadata: ["entries": "\(moved)"])
                }
            } catch {
                self.logger.debug("could not hand back queued work", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: running one attempt

    private enum Outcome {
        case succeeded(String)
        case failed(ExecutionFailure)
        case timedOut
        case cancelled
        case shutdown
        case fenced
        /// No slot came within `readyLimit`: back to the queue, the attempt not spent.
        case handedBack
    }

    /// Runs one started attempt once a slot is free (in start order), then
    /// records its outcome with the slot already given to the next. The
    /// attempt's timeout counts from its slot, not from its start write.
    private func execute(_ task: TaskRecord, signal: CancelSignal, startedAt: Date) async {
        let key = AttemptKey(taskID: task.taskID, attempt: task.attempt)
        defer {
            _ = self.running.withLock { $0.removeValue(forKey: key) }
            self.slots.settled()
        }
        let log = self.taskLogger(task)
        let outcome: Outcome
        var elapsed = Duration.zero
        switch await self.slots.acquire(high: task.priority == .high) {
        case .granted:
            let began = ContinuousClock.now
            let deadline = began + .seconds(task.timeoutSeconds)
            self.running.withLock { $0[key]?.deadline = deadline }
            self.starts.yield()
            self.logs.hold(
                TaskLogRecord(
                    taskID: task.taskID, attempt: task.attempt, workerID: self.configuration.workerID, level: "INFO",
                    message: "started attempt \(task.attempt) on worker \(self.configuration.workerID)", createdAt: self.broker.clock.now()
                )
            )
            self.metrics.started(task.taskType)
            let context = ExecutionContext(
                taskID: task.taskID, taskType: task.taskType, attempt: task.attempt, workerID: self.configuration.workerID,
                deadline: self.broker.clock.now().addingTimeInterval(TimeInterval(task.timeoutSeconds)), deadlineInstant: deadline, log: log,
                dependencyResults: task.dependencyResults, args: task.args
            )
            outcome = await self.outcome(of: task, signal: signal, context: context)
            elapsed = ContinuousClock.now - began
            self.slots.executed()
            self.metrics.executed(task.taskType, took: elapsed)
            self.prefetch.withLock { $0.executed(seconds: elapsed.seconds) }
        case .stopped:
            // Stopped while waiting for a slot: nothing ran.
            self.slots.skipped()
            outcome = self.fenced.load(ordering: .relaxed) ? .fenced : .shutdown
        case .expired:
            self.slots.skipped()
            outcome = signal.reason == .cancelled ? .cancelled : .handedBack
        }
        let settling = ContinuousClock.now
        do {
            try await self.record(outcome, of: task, startedAt: startedAt, elapsed: elapsed, log: log)
        } catch {
            // The entry stays in flight; the leader's timeout recovery settles the task.
            self.logger.error("could not record outcome", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
        }
        self.prefetch.withLock { $0.settled(seconds: (ContinuousClock.now - settling).seconds) }
        self.logs.forget(task.taskID)
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
            return .failed(ExecutionFailure("no \(config.executor.rawValue) executor on worker \(self.configuration.workerID)", retryable: false))
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
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                return try await self.configs.config(task.taskType).map(ConfigRead.found) ?? .missing
            } catch {
                self.logger.warning(
                    "task type configuration unavailable; reading it again",
                    metadata: ["task_id": "\(task.taskID)", "task_type": "\(task.taskType)", "error": "\(error)"]
                )
            }
            if let reason = signal.reason, reason != .finished { return .ended(reason) }
            guard ContinuousClock.now + backoff < deadline else { return .unavailable }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    private func record(_ outcome: Outcome, of task: TaskRecord, startedAt: Date, elapsed: Duration, log: TaskLogger) async throws {
        let entry = QueueEntry(task)
        let took = "\(elapsed.wholeMilliseconds) ms"
        let lease = AttemptLease.end(startedAt: startedAt, timeoutSeconds: task.timeoutSeconds)
        switch outcome {
        case .succeeded(let result):
            let attempt = FinishedAttempt(
                taskID: task.taskID, attempt: task.attempt, status: .succeeded, result: self.cap(result, self.configuration.maxResultBytes),
                tenant: task.tenant, hasDependents: task.hasDependents
            )
            if try await self.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: 0, lease: lease)) {
                // A plain success within the quiet window leaves no lines (see `TaskLogWriter`).
                if !self.logs.endQuietly(task.taskID) { log.info("succeeded in \(took)") }
                self.metrics.ended(task.taskType, .succeeded)
            }
        case .failed(let failure):
            try await self.fail(
                task, entry: entry, message: failure.message, retryable: failure.retryable, final: .failed, lease: lease, log: log, took: took
            )
        case .timedOut:
            try await self.fail(
                task, entry: entry, message: "timed out after \(task.timeoutSeconds) s", retryable: true, final: .timeout, lease: lease, log: log,
                took: took
            )
        case .cancelled:
            log.info("cancelled while running attempt \(task.attempt); aborted after \(took)")
            self.metrics.ended(task.taskType, .cancelled)
            self.outcomes.acknowledge([entry])
        case .fenced:
            // The leader gave the task to another worker: nothing of this attempt is recorded.
            break
        case .handedBack:
            try await self.handBack(task, entry: entry)
            log.info("no free slot on worker \(self.configuration.workerID) within \(self.configuration.readyLimit): back to the queue unstarted")
        case .shutdown:
            if try await self.handBack(task, entry: entry) {
                log.warn("worker \(self.configuration.workerID) stopping: attempt \(task.attempt) handed back unfinished")
            }
        }
    }

    /// Undoes a start (QUEUED again, the attempt not spent), then puts the
    /// entry back at the front of its queue; an entry whose row moved on (a
    /// cancel) is only acknowledged. True when the row was still this attempt's.
    @discardableResult
    private func handBack(_ task: TaskRecord, entry: QueueEntry) async throws -> Bool {
        guard try await self.tasks.handBack(task.taskID, attempt: task.attempt, now: self.broker.clock.now()) else {
            self.outcomes.acknowledge([entry])
            return false
        }
        try await self.broker.handBack(workerID: self.configuration.workerID, [entry])
        return true
    }

    private func fail(
        _ task: TaskRecord, entry: QueueEntry, message: String, retryable: Bool, final: TaskStatus, lease: Date, log: TaskLogger, took: String
    ) async throws {
        let error = self.cap(message, self.configuration.maxErrorBytes)
        let what = final == .timeout ? "timed out" : "failed"
        if retryable && self.policy.retriesLeft(task) {
            let backoff = (try? await self.configs.config(task.taskType))??.retryBackoffMs ?? 1000
            let at = self.broker.clock.now().addingTimeInterval(self.policy.delay(after: task, baseBackoffMs: backoff))
            let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: .retrying, error: error, tenant: task.tenant, retryAt: at,
                                          hasDependents: task.hasDependents)
            if try await self.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: Int64(at.timeIntervalSince1970 * 1000), lease: lease)) {
                log.warn("\(what) after \(took): \(message); retry scheduled for \(ISO8601DateFormatter().string(from: at))")
                self.metrics.ended(task.taskType, .retried)
            }
        } else {
            let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: final, error: error, tenant: task.tenant,
                                          hasDependents: task.hasDependents)
            if try await self.outcomes.record(.init(attempt: attempt, entry: entry, retryDue: 0, lease: lease)) {
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
        TaskLogger { [logs, clock = self.broker.clock, workerID = self.configuration.workerID] level, message in
            logs.write(TaskLogRecord(taskID: task.taskID, attempt: task.attempt, workerID: workerID, level: level, message: message, createdAt: clock.now()))
        }
    }

    // MARK: graceful stop

    /// Waits up to the grace period for running attempts, then stops the
    /// rest; what still waits on this worker's queue goes back too. What
    /// could not be settled stays in flight for the leader to recover.
    private func drain() async {
        let workerID = self.configuration.workerID
        // The dispatcher skips a draining worker from now on (a fenced one
        // left the registry already: its lists belong to the leader).
        let fenced = self.fenced.load(ordering: .relaxed)
        if !fenced { try? await self.broker.markDraining(workerID: workerID) }
        for await _ in self.highLaneStopped.stream {}
        let deadline = ContinuousClock.now + self.configuration.gracePeriod
        while self.slots.held > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = self.running.withLock { Array($0.values) }
        for running in left { running.signal.fire(.shutdown) }
        while self.slots.held > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await self.logs.flush()
        await self.outcomes.flush(timeout: .seconds(5))
        if fenced { return }
        do {
            try await self.broker.handBackQueue(workerID: workerID)
        } catch {
            self.logger.warning("could not hand back this worker's queue; the leader will", metadata: ["error": "\(error)"])
        }
    }
}

/// The leader declared this worker dead while it was cut off; the node stops
/// so that a supervisor starts it again as a new incarnation.
public struct WorkerFenced: Error, CustomStringConvertible {
    public var workerID: String
    public var description: String { "worker \(self.workerID) was declared dead by the leader; restart the node" }
}

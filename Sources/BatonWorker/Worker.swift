import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Tracing

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
///
/// Its parts: `WorkConsumer` takes and starts work, `AttemptRunner` runs
/// each attempt and records its outcome (`OutcomeRecorder`), `WorkerState`
/// holds what they share; the worker runs them with its watches (cancels,
/// deadlines, saturation, the window) and drains on a graceful stop.
public final class Worker: Service, Sendable {
    public let configuration: WorkerConfiguration
    /// Created → started of the attempts this worker starts, in milliseconds
    /// (the dashboard's start-latency chart drains it).
    public let startLatency = LatencyWindow()
    private let state: WorkerState
    private let consumer: WorkConsumer
    private let registry: ExecutorRegistry
    private let logs: TaskLogWriter
    /// Wakes the deadline watch when attempts start.
    private let startEvents: AsyncStream<Void>
    /// Writes the starts of attempts still running after the window.
    private let startRecorder: StartRecorder

    public init(
        configuration: WorkerConfiguration,
        broker: any WorkerBroker,
        tasks: any AttemptStore,
        configs: TaskConfigCache,
        registry: ExecutorRegistry,
        logs: TaskLogWriter,
        tracer: (any Tracer)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.registry = registry
        self.logs = logs
        let state = WorkerState(configuration: configuration, broker: broker, tasks: tasks, logger: logger)
        let (startEvents, starts) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let startRecorder = StartRecorder(window: configuration.startWriteAfter, state: state)
        let runner = AttemptRunner(
            state: state, configs: configs, registry: registry, logs: logs, starts: starts, startRecorder: startRecorder, tracer: tracer
        )
        self.startRecorder = startRecorder
        self.state = state
        self.startEvents = startEvents
        self.consumer = WorkConsumer(state: state, runner: runner, startLatency: self.startLatency)
    }

    private var broker: any WorkerBroker { self.state.broker }
    private var logger: Logger { self.state.logger }
    private var slots: ExecutionSlots { self.state.slots }

    /// The heartbeat service that goes with this worker.
    public func heartbeat() -> WorkerHeartbeat {
        WorkerHeartbeat(
            broker: self.broker, configuration: self.configuration,
            draining: { [state = self.state] in state.stopRequested },
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
        let (window, saturated) = self.state.prefetch.withLock { ($0.window, $0.saturated) }
        return saturated ? 0 : window + self.slots.settling
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.state.outcomes.run() }
            group.addTask { await self.startRecorder.run() }
            group.addTask { await self.watchDeadlines() }
            group.addTask { await self.watchReadyWaits() }
            group.addTask { await self.watchCancels() }
            group.addTask { await self.publishWindow() }
            group.addTask { await self.consumer.consumeHighLane() }
            await withGracefulShutdownHandler {
                await self.consumer.consume(group: &group)
            } onGracefulShutdown: {
                self.state.stop()
            }
            await self.drain()
            group.cancelAll()
        }
        if self.state.isFenced { throw WorkerFenced(workerID: self.configuration.workerID) }
    }

    /// The leader declared this worker dead: its tasks run elsewhere by now.
    /// Stops every attempt (their outcomes would no longer apply) and the worker.
    private func fence() {
        guard self.state.fence() else { return }
        self.logger.critical(
            "this worker was declared dead (cut off longer than the heartbeat TTL); its tasks run elsewhere; stopping",
            metadata: ["worker_id": "\(self.configuration.workerID)"]
        )
        for signal in self.state.running.signals { signal.fire(.fenced) }
    }

    // MARK: watches

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
                        for signal in self.state.running.signals(cancelledBy: notices) { signal.fire(.cancelled) }
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
            if self.state.running.isEmpty {
                guard await starts.next() != nil else { return }
                continue
            }
            guard (try? await Task.sleep(for: .milliseconds(250))) != nil else { return }
            for signal in self.state.running.overdue(at: .now) { signal.fire(.timedOut) }
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
                let newly = self.state.prefetch.withLock { prefetch in
                    defer { prefetch.saturate() }
                    return !prefetch.saturated
                }
                if newly { try? await self.broker.publishWindow(workerID: self.configuration.workerID, window: 0) }
            }
            guard saturated, !self.state.isStopping else { continue }
            do {
                let moved = try await self.broker.handBackQueued(workerID: self.configuration.workerID)
                if moved > 0 {
                    self.logger.debug("every slot busy: queued work handed back", metadata: ["entries": "\(moved)"])
                }
            } catch {
                self.logger.debug("could not hand back queued work", metadata: ["error": "\(error)"])
            }
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
        let fenced = self.state.isFenced
        if !fenced { try? await self.broker.markDraining(workerID: workerID) }
        await self.consumer.highLaneEnded()
        let deadline = ContinuousClock.now + self.configuration.gracePeriod
        while self.slots.held > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for signal in self.state.running.signals { signal.fire(.shutdown) }
        while self.slots.held > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await self.logs.flush()
        await self.state.outcomes.flush(timeout: .seconds(5))
        if fenced { return }
        do {
            try await self.broker.handBackQueued(workerID: workerID)
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

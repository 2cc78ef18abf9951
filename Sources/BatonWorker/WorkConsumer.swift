import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging

/// Takes what waits on this worker's queues into its in-flight list and
/// claims it (one script, high priority first; high work also has a lane of
/// its own), reads which of it may start with one MySQL read per batch (the
/// deferred start: the start is written only for attempts that run long,
/// `StartRecorder`), and hands each started attempt to the runner as a child
/// task. Entries the read refused are handed back or dropped.
final class WorkConsumer: Sendable {
    private let state: WorkerState
    private let runner: AttemptRunner
    /// Created → started of the attempts this worker starts, in milliseconds.
    private let startLatency: LatencyWindow
    /// Start reads, tried again until MySQL answers (50 ms doubling to 1 s).
    private let readRetry: LeaseRetry
    /// Ends when the high lane takes no more work: the graceful stop waits
    /// for it, so an attempt the lane is starting is counted before the
    /// stop looks at what is held.
    private let highLaneStopped: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation) = AsyncStream.makeStream()

    init(state: WorkerState, runner: AttemptRunner, startLatency: LatencyWindow) {
        self.state = state
        self.runner = runner
        self.startLatency = startLatency
        self.readRetry = LeaseRetry(first: .milliseconds(50), cap: .seconds(1), logger: state.logger)
    }

    /// Returns once the high lane takes no more work.
    func highLaneEnded() async {
        for await _ in self.highLaneStopped.stream {}
    }

    /// Takes what waits on this worker's queues (high priority first) into
    /// its in-flight list: as many as slots are free, plus the attempts the
    /// slots finish while one start write is under way (`Prefetch.burst`).
    /// When nothing waits, it blocks until the dispatcher rings its bell.
    func consume(group: inout DiscardingTaskGroup) async {
        await self.onOwnInbox("worker queue unavailable, retrying", level: .warning) { inbox in
            while !self.state.isStopping {
                let (target, settleLimit) = self.state.prefetch.withLock { ($0.capacity + $0.burst, $0.maxWindow) }
                await self.state.slots.waitForRoom(target: target, settleLimit: settleLimit)
                if self.state.isStopping { return }
                // While busy, let a few more attempts end so one start
                // statement covers several tasks (at most 1 ms later).
                if self.state.slots.active > 0 && target - self.state.slots.active < target / 4 {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                let room = target - self.state.slots.active
                guard room > 0 else { continue }
                let entries = try await self.state.broker.take(workerID: self.state.workerID, count: room, highOnly: false)
                if entries.isEmpty {
                    try await inbox.waitForWork(high: false, timeout: self.state.configuration.pollTimeout)
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
    func consumeHighLane() async {
        await withDiscardingTaskGroup { group in
            // The main loop warns when Redis is away; this one only notes it.
            await self.onOwnInbox("high lane unavailable, retrying", level: .debug) { inbox in
                while !self.state.isStopping {
                    let room = self.state.configuration.capacity - self.state.slots.highWaiting
                    let entries = room > 0 ? try await inbox.take(count: room, highOnly: true) : []
                    if entries.isEmpty {
                        try await inbox.waitForWork(high: true, timeout: self.state.configuration.pollTimeout)
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
    private func onOwnInbox(_ failure: Logger.Message, level: Logger.Level, _ body: (any WorkerInbox) async throws -> Void) async {
        while !self.state.isStopping {
            do {
                try await self.state.broker.withInbox(workerID: self.state.workerID, body)
            } catch {
                if self.state.isStopping { return }
                self.state.logger.log(level: level, failure, metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Starts a batch: one read for all, then one child task each. Entries whose task was cancelled or finished meanwhile, stale
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
        guard let (started, now) = await self.startRead(unique.map { ($0.taskID, $0.generation) }, sampled: sampled) else { return }
        let startedIDs = Set(started.map(\.taskID))
        let refused = unique.filter { !startedIDs.contains($0.taskID) }
        self.state.slots.started(started.count)
        for task in started {
            self.startLatency.record(now.timeIntervalSince(task.createdAt) * 1000)
            let signal = CancelSignal()
            self.state.running.started(task, signal: signal)
            group.addTask { await self.runner.execute(task, signal: signal, startedAt: now) }
        }
        await self.settleRefused(refused, repeated: repeated)
        do {
            try await self.state.broker.announce(started.map(\.taskID))
        } catch {
            self.state.logger.debug("could not announce starts", metadata: ["error": "\(error)"])
        }
    }

    /// Entries a start write did not start: back to their queue while their
    /// task still waits at their generation, else dropped. When MySQL cannot
    /// say, they stay in flight for the leader's recovery.
    private func settleRefused(_ refused: [QueueEntry], repeated: [QueueEntry]) async {
        var dropped = repeated
        defer { self.state.outcomes.acknowledge(dropped) }
        guard !refused.isEmpty else { return }
        do {
            let waiting = try await self.state.tasks.stillWaiting(refused.map { ($0.taskID, $0.generation) })
            dropped += refused.filter { !waiting.contains($0.taskID) }
            try await self.state.broker.handBackInFlight(workerID: self.state.workerID, refused.filter { waiting.contains($0.taskID) })
        } catch {
            self.state.logger.warning("could not settle entries a start write refused", metadata: ["entries": "\(refused.count)", "error": "\(error)"])
        }
    }

    /// The start read, tried until MySQL answers; with a window of zero
    /// (`startWriteAfter`: a replicated Redis, whose failover may lose a
    /// claim) the start write itself, before anything runs, and a try whose
    /// answer was lost is claimed by the next. Nil when the worker stops
    /// first: the entries stay in flight, the worker stays registered, and
    /// the leader recovers them.
    private func startRead(_ claims: [AttemptStore.StartClaim], sampled: Bool) async -> ([TaskRecord], Date)? {
        let writes = self.state.configuration.startWriteAfter == .zero
        var tried: [Date] = []
        var now = Date.distantPast
        return await self.readRetry.run("could not start tasks; retrying", metadata: ["tasks": "\(claims.count)"]) {
            now = self.state.broker.clock.now().roundedToMicroseconds
            let clock = ContinuousClock.now
            let (workerID, cluster) = (self.state.workerID, self.state.broker.cluster)
            let started = writes
                ? try await self.state.tasks.start(claims, workerID: workerID, cluster: cluster, now: now, earlier: tried, checksPause: true)
                : try await self.state.tasks.startable(claims, workerID: workerID, cluster: cluster, now: now)
            let took = (ContinuousClock.now - clock).seconds
            if sampled { self.state.prefetch.withLock { $0.startWritten(seconds: took) } }
            return (started, now)
        } failed: { _ in
            if writes { tried.append(now) }
            return !self.state.isStopping
        }
    }
}

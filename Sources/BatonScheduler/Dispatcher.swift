import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging
import Tracing

/// Moves tasks from the priority queues to worker queues, high before normal
/// (or weighted), in batches, with a fenced Lua script; SCHEDULED follows in
/// MySQL shortly after (`ScheduledMarker`). Sleeps on the wake list
/// when there is nothing it can move, so an idle cluster costs nothing.
public struct Dispatcher: LeaderLoop {
    public struct Configuration: Sendable {
        public var batchSize = 100
        public var strategy: DispatchStrategy = .leastTask
        /// Entries of each queue examined per cycle: a type that cannot run now
        /// is skipped within this window, so it holds back no other type.
        public var lookAhead = 256
        /// Percent of each worker's capacity normal work leaves free for high
        /// work (rounded down: a worker of capacity below 100/share keeps none).
        public var highReserve = 0
        /// (high, normal) shares per cycle; (0, 0) is strict priority.
        public var weights: (high: Int, normal: Int) = (0, 0)
        public var heartbeatTTL: Duration = .seconds(9)
        /// Longest sleep without a wake-up (covers rate-limit windows and lost wake-ups).
        public var idleWait: Duration = .milliseconds(500)
        /// How often per-type limits are copied from MySQL to Redis.
        public var limitsRefresh: Duration = .seconds(2)
        /// How long after its dispatch a task still waiting reads SCHEDULED.
        /// Long enough that a worker's prefetched window (up to a few hundred
        /// tasks) has mostly started by then: the mark then only looks rows
        /// up instead of changing them (measured: 50 ms cost MariaDB 14 %
        /// more instructions per task once windows grew).
        public var scheduledDelay: Duration = .milliseconds(500)

        public init() {}
    }

    public let name = "dispatcher"
    private let broker: any SchedulingBroker
    private let tasks: TaskStore
    private let configs: TaskConfigStore
    private let configuration: Configuration
    private let logger: Logger
    /// Set when the node traces: a span per round that moved tasks.
    private let tracer: (any Tracer)?

    public init(
        broker: any SchedulingBroker, tasks: TaskStore, configs: TaskConfigStore, configuration: Configuration = .init(), tracer: (any Tracer)? = nil,
        logger: Logger
    ) {
        self.tracer = tracer
        self.broker = broker
        self.tasks = tasks
        self.configs = configs
        self.configuration = configuration
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        let marker = ScheduledMarker(
            tasks: self.tasks, clock: self.broker.clock, fence: term.fence, delay: self.configuration.scheduledDelay, logger: self.logger
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await marker.run() }
            try await self.broker.withWakeSource(for: .dispatch) { wakeups in
                var limitsSyncedAt = ContinuousClock.now - self.configuration.limitsRefresh
                while !Task.isCancelled {
                    if ContinuousClock.now - limitsSyncedAt >= self.configuration.limitsRefresh {
                        try await self.syncLimits()
                        limitsSyncedAt = .now
                    }
                    let moved = try await self.move(term: term)
                    marker.add(moved)
                    if moved.count < self.configuration.batchSize {
                        try await wakeups.wait(timeout: self.configuration.idleWait)
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// One fenced batch, recorded SCHEDULED at once. Returns how many tasks moved.
    @discardableResult
    public func dispatchOnce(term: LeaderState.Term) async throws -> Int {
        let moved = try await self.move(term: term)
        try await self.tasks.markScheduled(moved, now: self.broker.clock.now(), fence: term.fence)
        return moved.count
    }

    /// One fenced batch from the priority queues to worker queues. Returns (task, worker, when) triples.
    private func move(term: LeaderState.Term) async throws -> [TaskStore.Assignment] {
        // Taken before the move: a row changed after it (a start, a failed attempt) is newer than the dispatch.
        let now = self.broker.clock.now()
        let configuration = self.configuration
        let began = self.tracer == nil ? nil : DefaultTracerClock.now
        let moved = try await self.broker.dispatch(
            fence: term.lockValue, batch: configuration.batchSize, heartbeatTTL: configuration.heartbeatTTL,
            strategy: configuration.strategy.rawValue, weights: configuration.weights, lookAhead: configuration.lookAhead,
            highReserve: configuration.highReserve
        )
        if let tracer = self.tracer, let began, !moved.isEmpty { Self.trace(moved, began: began, tracer: tracer) }
        return moved.map { ($0.entry.taskID, $0.workerID, now) }
    }

    /// A root span per round that moved tasks (an idle round records none),
    /// with how many and to how many workers. It links no task: a round
    /// moves up to `batchSize` of them, and their traceparents are in
    /// MySQL, which the round does not read; each attempt's span, a child
    /// of its task's API span, carries the task's id instead.
    private static func trace(_ moved: [(entry: QueueEntry, workerID: String)], began: DefaultTracerClock.Instant, tracer: any Tracer) {
        let span = tracer.startSpan("dispatch", context: .topLevel, ofKind: .internal, at: began)
        span.attributes["baton.dispatch.tasks"] = Int64(moved.count)
        span.attributes["baton.dispatch.workers"] = Int64(Set(moved.map(\.workerID)).count)
        span.end()
    }

    /// Copies each type's max_concurrency, rate limit, pause and executor
    /// capability where the dispatch script reads them (never over a newer
    /// copy), and gives back the parked entries of every type MySQL says is
    /// not paused and some live worker runs: a resume whose own unpark failed
    /// (Redis or its node away) still converges, and a type parked because no
    /// worker ran it runs within one refresh of a worker that runs it
    /// registering. A type still unserved stays parked (given back, its
    /// entries would only be parked again, in front of other types' work).
    public func syncLimits() async throws {
        let configs = try await self.configs.all()
        try await self.broker.replaceLimits(configs.map(TypeLimits.init))
        let parked = try await self.broker.parkedTypes()
        guard !parked.isEmpty else { return }
        let paused = Set(configs.filter(\.paused).map(\.taskType))
        let unserved = Set(try await self.broker.unservedTypes(heartbeatTTL: self.configuration.heartbeatTTL).map(\.taskType))
        for taskType in parked where !paused.contains(taskType) && !unserved.contains(taskType) {
            // A page at a time: Redis is never held long.
            let entries = try await self.broker.unpark(taskType, pageSize: 1000)
            self.logger.info(
                "gave back a type's parked entries (resumed, or a worker that runs it is live)",
                metadata: ["task_type": "\(taskType)", "entries": "\(entries)"]
            )
        }
    }
}

import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging

/// Makes Redis hold every task MySQL says is waiting (and drops lapsed
/// watches and old tombstones on the way). Two cases:
/// - Redis lost its data (its sentinel key is gone): one full pass over the
///   waiting tasks, in id order, puts each back.
/// - A crash between a MySQL write and the Redis change that follows it:
///   waiting tasks untouched for `staleAfter` are checked a page at a time,
///   one status after another, with a cursor on (tenant, task_id) (a range
///   of the status index, whose entries hold updated_at: never the whole
///   table, and only stale rows are read).
public struct Reconciler: LeaderLoop {
    public struct Configuration: Sendable {
        public var interval: Duration = .seconds(5)
        public var staleAfter: TimeInterval = 30
        public var pageSize = 200
        /// How long a restore waits after it first sees the loss: an attempt
        /// younger than the deferred-start window when Redis lost its data
        /// has neither its start nor its outcome in MySQL yet, and its row
        /// reads waiting (the node sets one heartbeat TTL).
        public var restoreDelay: Duration = .zero

        public init() {}
    }

    public let name = "reconciler"
    private let broker: RedisBroker
    private let tasks: TaskStore
    private let configuration: Configuration
    private let logger: Logger

    public init(broker: RedisBroker, tasks: TaskStore, configuration: Configuration = .init(), logger: Logger) {
        self.broker = broker
        self.tasks = tasks
        self.configuration = configuration
        self.logger = logger
    }

    /// Where the stale sweep stands: a status and a position within it.
    public struct Cursor: Sendable, Equatable {
        public var status: Int
        public var position: TaskStore.SweepPosition?

        public init(status: Int = 0, position: TaskStore.SweepPosition? = nil) {
            self.status = status
            self.position = position
        }
    }

    static let swept: [TaskStatus] = [.pending, .queued, .scheduled, .retrying]

    public func run(term: LeaderState.Term) async throws {
        var cursor = Cursor()
        var lossSeen: ContinuousClock.Instant?
        while !Task.isCancelled {
            if self.configuration.restoreDelay > .zero, try await self.broker.restoreDue() {
                let seen = lossSeen ?? .now
                if lossSeen == nil {
                    self.logger.warning("Redis lost its data; restoring once the starts under way are written", metadata: ["in": "\(self.configuration.restoreDelay)"])
                }
                lossSeen = seen
                if ContinuousClock.now - seen < self.configuration.restoreDelay {
                    try await Task.sleep(until: seen + self.configuration.restoreDelay)
                    continue
                }
            } else {
                lossSeen = nil
            }
            cursor = try await self.reconcileOnce(term: term, cursor: cursor)
            try await self.broker.pruneLapsed()
            try await Task.sleep(for: self.configuration.interval)
        }
    }

    /// One pass; returns the cursor for the next.
    public func reconcileOnce(term: LeaderState.Term, cursor: Cursor = Cursor(), now: Date? = nil) async throws -> Cursor {
        let now = now ?? self.broker.clock.now()
        // Due until a full pass has ended, so a pass cut short (Redis or
        // MySQL away, leadership lost) runs again.
        if try await self.broker.restoreDue() {
            let started = ContinuousClock.now
            let restored = try await self.restoreAll(term: term)
            if restored > 0 {
                self.logger.warning(
                    "Redis had lost its data; tasks put back", metadata: ["tasks": "\(restored)", "took": "\(ContinuousClock.now - started)"]
                )
            }
            return Cursor()
        }
        // One page: the rest of this status, then the next statuses while the page has room.
        var cursor = cursor
        var requeued = 0
        defer { if requeued > 0 { self.logger.warning("requeued tasks Redis did not hold", metadata: ["tasks": "\(requeued)"]) } }
        while true {
            let stale = try await self.tasks.stale(
                status: Self.swept[cursor.status],
                before: now.addingTimeInterval(-self.configuration.staleAfter),
                after: cursor.position,
                limit: self.configuration.pageSize
            )
            requeued += try await self.requeueMissing(stale, term: term, now: now)
            if stale.count == self.configuration.pageSize, let last = stale.last {
                return Cursor(status: cursor.status, position: .init(tenant: last.tenant, taskID: last.taskID))
            }
            // This status is done: the next one, from its start; a full round ends the pass.
            cursor = Cursor(status: cursor.status + 1)
            if cursor.status == Self.swept.count { return Cursor() }
        }
    }

    /// Every waiting task back in Redis, in task id order, a page at a time;
    /// one pass over what Redis holds for the whole restore. Marks it
    /// complete at the end. Returns how many were missing.
    @discardableResult
    public func restoreAll(term: LeaderState.Term) async throws -> Int {
        try await self.broker.beginRestore(fence: term.lockValue)
        var afterID = ""
        var restored = 0
        while true {
            let page = try await self.tasks.waiting(afterID: afterID, limit: 1000)
            let now = self.broker.clock.now()
            let delayed = page.filter { self.notDue($0, now: now) }
            restored += try await self.broker.restorePage(page.filter { !self.notDue($0, now: now) }.map(QueueEntry.init), fence: term.lockValue)
            restored += try await self.requeueMissingDelayed(delayed, now: now)
            guard page.count == 1000, let last = page.last else { break }
            afterID = last.taskID
        }
        try await self.broker.endRestore()
        return restored
    }

    /// A task not yet due (delayed, or RETRYING in its backoff) goes back to
    /// the delayed set, not its queue.
    private func notDue(_ task: TaskRecord, now: Date) -> Bool {
        (task.dueAt ?? .distantPast) > now
    }

    private func requeueMissing(_ tasks: [TaskRecord], term: LeaderState.Term, now: Date) async throws -> Int {
        guard !tasks.isEmpty else { return 0 }
        let delayed = tasks.filter { self.notDue($0, now: now) }
        let requeued = try await self.broker.requeueMissing(tasks.filter { !self.notDue($0, now: now) }.map(QueueEntry.init), fence: term.lockValue)
        return requeued + (try await self.requeueMissingDelayed(delayed, now: now))
    }

    private func requeueMissingDelayed(_ delayed: [TaskRecord], now: Date) async throws -> Int {
        guard !delayed.isEmpty else { return 0 }
        let absent = Set(try await self.broker.missingFromDelayed(delayed.map(QueueEntry.init)).map(\.taskID))
        let missing = delayed.filter { absent.contains($0.taskID) }
        try await self.broker.enqueue(missing, now: now)
        return missing.count
    }
}

import BatonModel
import BatonStore
import Foundation
import Logging

/// Deletes finished tasks and their log lines once their type's retention
/// (`retention_hours`, or the cluster's default) has passed: leader only, a
/// type at a time with that type's own cutoff, a small batch at a time
/// along idx_task_type_id (reading a type's rows only once they are due,
/// whatever another type's retention; see `TaskStore.expired`), resting between
/// batches in proportion to how long each took, so a backlog of millions
/// goes away in the background without starving the hot path. With
/// schedules, each schedule's fire records (`schedule_fire`) go with the
/// same cutoff as its type's tasks: the table would otherwise grow a row per
/// fire for ever (86,400 a day for one `@every 1s`), and a record that old
/// can never matter again (a schedule's next fire time only moves on from
/// now; the task it names is deleted with the same cutoff).
public struct RetentionJanitor: LeaderLoop {
    public struct Configuration: Sendable {
        /// Hours a finished task is kept when its type says 0; 0 here keeps them for ever.
        public var defaultHours = 168
        public var batchSize = 100
        /// Fire records pruned per statement (a primary-key range of one schedule).
        public var fireBatchSize = 1000
        /// Least rest between batches.
        public var pause: Duration = .milliseconds(20)
        /// Rest after a batch, as a multiple of the time it took: the janitor
        /// keeps MySQL busy at most 1/(1 + share) of the time, and slows down
        /// by itself when MySQL is loaded (its deletes then take longer).
        public var restShare = 4
        /// Rest between passes once nothing is due.
        public var interval: Duration = .seconds(60)

        public init() {}
    }

    public let name = "retention-janitor"
    private let tasks: TaskStore
    private let configs: TaskConfigStore
    private let schedules: ScheduleStore?
    private let clock: @Sendable () -> Date
    private let configuration: Configuration
    private let logger: Logger

    public init(
        tasks: TaskStore, configs: TaskConfigStore, schedules: ScheduleStore? = nil, clock: @escaping @Sendable () -> Date,
        configuration: Configuration = .init(), logger: Logger
    ) {
        self.tasks = tasks
        self.configs = configs
        self.schedules = schedules
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            let deleted = try await self.passOnce()
            if deleted > 0 { self.logger.info("finished tasks past their retention deleted", metadata: ["tasks": "\(deleted)"]) }
            let pruned = try await self.pruneScheduleHistory()
            if pruned > 0 { self.logger.info("schedule fire records past their retention pruned", metadata: ["records": "\(pruned)"]) }
            try await Task.sleep(for: self.configuration.interval)
        }
    }

    /// One pass over every type that has tasks, each with its own cutoff;
    /// returns how many tasks went.
    @discardableResult
    public func passOnce() async throws -> Int {
        let now = self.clock()
        let retention = RetentionCutoffs(defaultHours: self.configuration.defaultHours, types: try await self.configs.all(), now: now)
        var deleted = 0
        for taskType in try await self.tasks.taskTypes() {
            guard let cutoff = retention.cutoff(for: taskType) else { continue }
            var after = ""
            while !Task.isCancelled {
                let due = try await self.tasks.expired(taskType: taskType, before: cutoff, afterID: after, limit: self.configuration.batchSize)
                guard let last = due.last else { break }
                after = last
                let began = ContinuousClock.now
                deleted += try await self.tasks.deleteExpired(due, taskType: taskType, retention: retention.rule, now: now)
                if due.count < self.configuration.batchSize { break }
                try await Task.sleep(for: max(self.configuration.pause, (ContinuousClock.now - began) * self.configuration.restShare))
            }
        }
        return deleted
    }

    /// One pass over every schedule's fire records, each with its type's
    /// cutoff; returns how many went.
    @discardableResult
    public func pruneScheduleHistory() async throws -> Int {
        guard let schedules else { return 0 }
        let retention = RetentionCutoffs(defaultHours: self.configuration.defaultHours, types: try await self.configs.all(), now: self.clock())
        var pruned = 0
        for schedule in try await schedules.all() {
            guard let cutoff = retention.cutoff(for: schedule.taskType) else { continue }
            while !Task.isCancelled {
                let batch = try await schedules.pruneFires(schedule.scheduleID, before: cutoff, limit: self.configuration.fireBatchSize)
                pruned += batch
                if batch < self.configuration.fireBatchSize { break }
            }
        }
        return pruned
    }
}

/// When each type's finished tasks are due for deletion.
public struct RetentionCutoffs: Sendable {
    public let rule: Retention
    private let byType: [String: Date?]
    private let fallback: Date?

    /// `types` with retention 0 use `defaultHours`; 0 hours means kept for ever.
    public init(defaultHours: Int, types: [TaskConfigRecord], now: Date) {
        let rule = Retention(defaultHours: defaultHours)
        self.rule = rule
        self.fallback = rule.cutoff(typeHours: nil, now: now)
        self.byType = Dictionary(types.map { ($0.taskType, rule.cutoff(typeHours: $0.retentionHours, now: now)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Tasks of `taskType` last changed before this are due; nil when kept for ever.
    public func cutoff(for taskType: String) -> Date? {
        self.byType[taskType] ?? self.fallback
    }

    public func isDue(_ task: TaskRecord) -> Bool {
        guard task.status.isTerminal, let cutoff = self.cutoff(for: task.taskType) else { return false }
        return task.updatedAt < cutoff
    }
}

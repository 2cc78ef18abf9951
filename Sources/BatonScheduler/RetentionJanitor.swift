import BatonModel
import BatonStore
import Foundation
import Logging

/// Deletes finished tasks and their log lines once their type's retention
/// (`retention_hours`, or the cluster's default) has passed: leader only, a
/// small batch at a time along idx_task_status_updated, resting between
/// batches in proportion to how long each took, so a backlog of millions
/// goes away in the background without starving the hot path.
public struct RetentionJanitor: LeaderLoop {
    public struct Configuration: Sendable {
        /// Hours a finished task is kept when its type says 0; 0 here keeps them for ever.
        public var defaultHours = 168
        public var batchSize = 100
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
    private let clock: @Sendable () -> Date
    private let configuration: Configuration
    private let logger: Logger

    public init(tasks: TaskStore, configs: TaskConfigStore, clock: @escaping @Sendable () -> Date, configuration: Configuration = .init(), logger: Logger) {
        self.tasks = tasks
        self.configs = configs
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            let deleted = try await self.passOnce()
            if deleted > 0 { self.logger.info("finished tasks past their retention deleted", metadata: ["tasks": "\(deleted)"]) }
            try await Task.sleep(for: self.configuration.interval)
        }
    }

    /// One pass over every finished status; returns how many tasks went.
    @discardableResult
    public func passOnce() async throws -> Int {
        let now = self.clock()
        let retention = RetentionCutoffs(defaultHours: self.configuration.defaultHours, types: try await self.configs.all(), now: now)
        guard let newest = retention.newest else { return 0 }
        var deleted = 0
        for status in TaskStatus.allCases where status.isTerminal {
            var position: TaskStore.SweepPosition?
            while !Task.isCancelled {
                let page = try await self.tasks.page(TaskQuery(), status: status, after: position, before: newest, limit: self.configuration.batchSize)
                guard let last = page.last else { break }
                position = .init(updatedAt: last.updatedAt, taskID: last.taskID)
                let due = page.filter { retention.isDue($0) }.map(\.taskID)
                let began = ContinuousClock.now
                deleted += try await self.tasks.deleteFinished(due, status: status)
                if page.count < self.configuration.batchSize { break }
                try await Task.sleep(for: max(self.configuration.pause, (ContinuousClock.now - began) * self.configuration.restShare))
            }
        }
        return deleted
    }
}

/// When each type's finished tasks are due for deletion.
public struct RetentionCutoffs: Sendable {
    private let byType: [String: Date?]
    private let fallback: Date?

    /// `types` with retention 0 use `defaultHours`; 0 hours means kept for ever.
    public init(defaultHours: Int, types: [TaskConfigRecord], now: Date) {
        func cutoff(_ hours: Int) -> Date? { hours > 0 ? now.addingTimeInterval(-Double(hours) * 3600) : nil }
        self.fallback = cutoff(defaultHours)
        self.byType = Dictionary(types.map { ($0.taskType, $0.retentionHours > 0 ? cutoff($0.retentionHours) : cutoff(defaultHours)) }, uniquingKeysWith: { a, _ in a })
    }

    /// The latest cutoff of all: no task finished after it is due.
    public var newest: Date? {
        (self.byType.values.compactMap { $0 } + [self.fallback].compactMap { $0 }).max()
    }

    public func isDue(_ task: TaskRecord) -> Bool {
        guard task.status.isTerminal, let cutoff = self.byType[task.taskType] ?? self.fallback else { return false }
        return task.updatedAt < cutoff
    }
}

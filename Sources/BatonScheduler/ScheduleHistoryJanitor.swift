import BatonModel
import BatonStore
import Foundation
import Logging

/// Prunes each schedule's fire records (`schedule_fire`) once they are as
/// old as its type's retention: the table would otherwise grow by a row per
/// fire for ever (86,400 a day for one `@every 1s`). A record that old can
/// never matter again: a schedule's next fire time only moves on from now,
/// and the task it names is deleted with the same cutoff. Leader only, a
/// schedule at a time, a primary-key range per batch.
public struct ScheduleHistoryJanitor: LeaderLoop {
    public struct Configuration: Sendable {
        /// Hours a finished task is kept when its type says 0 (as `RetentionJanitor`'s); 0 keeps them for ever.
        public var defaultHours = 168
        public var batchSize = 1000
        public var interval: Duration = .seconds(600)

        public init() {}
    }

    public let name = "schedule-history-janitor"
    private let schedules: ScheduleStore
    private let configs: TaskConfigStore
    private let clock: @Sendable () -> Date
    private let configuration: Configuration
    private let logger: Logger

    public init(
        schedules: ScheduleStore, configs: TaskConfigStore, clock: @escaping @Sendable () -> Date, configuration: Configuration = .init(), logger: Logger
    ) {
        self.schedules = schedules
        self.configs = configs
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            let pruned = try await self.passOnce()
            if pruned > 0 { self.logger.info("schedule fire records past their retention pruned", metadata: ["records": "\(pruned)"]) }
            try await Task.sleep(for: self.configuration.interval)
        }
    }

    /// One pass over every schedule; returns how many records went.
    @discardableResult
    public func passOnce() async throws -> Int {
        let retention = RetentionCutoffs(defaultHours: self.configuration.defaultHours, types: try await self.configs.all(), now: self.clock())
        var pruned = 0
        for schedule in try await self.schedules.all() {
            guard let cutoff = retention.cutoff(for: schedule.taskType) else { continue }
            while !Task.isCancelled {
                let batch = try await self.schedules.pruneFires(schedule.scheduleID, before: cutoff, limit: self.configuration.batchSize)
                pruned += batch
                if batch < self.configuration.batchSize { break }
            }
        }
        return pruned
    }
}

import BatonBroker
import BatonModel
import BatonStore
import Logging

/// Recounts finished tasks per status from MySQL when a term starts and
/// every `interval`, replacing the counts kept in Redis as tasks finish, so a
/// lost increment (a crash between a write and its acknowledgement, Redis
/// losing its data) skews GetStats for one interval at most.
public struct StatsRecounter: LeaderLoop {
    public let name = "stats-recounter"
    private let broker: RedisBroker
    private let tasks: TaskStore
    private let interval: Duration
    private let logger: Logger

    public init(broker: RedisBroker, tasks: TaskStore, interval: Duration = .seconds(600), logger: Logger) {
        self.broker = broker
        self.tasks = tasks
        self.interval = interval
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            try await self.recountOnce()
            try await Task.sleep(for: self.interval)
        }
    }

    public func recountOnce() async throws {
        let counts = try await self.tasks.counts(statuses: TaskStatus.allCases.filter(\.isTerminal))
        try await self.broker.setFinishedCounts(counts)
    }
}

import BatonStore
import Logging

/// Re-derives the finished-task counts GetStats reads (`TaskStore.auditCounts`)
/// soon after taking office and then seldom: the store keeps them exact in
/// the transactions of its writes; this corrects what those cannot see (a
/// hand edit, rows written by an older version) and folds closed
/// connections' rows. It reads every finished row's index entry once.
public struct CountAudit: LeaderLoop {
    public let name = "count-audit"
    private let tasks: TaskStore
    private let firstAfter: Duration
    private let interval: Duration
    private let logger: Logger

    public init(tasks: TaskStore, firstAfter: Duration = .seconds(30), interval: Duration = .seconds(3600), logger: Logger) {
        self.tasks = tasks
        self.firstAfter = firstAfter
        self.interval = interval
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        try await Task.sleep(for: self.firstAfter)
        while !Task.isCancelled {
            let corrections = try await self.tasks.auditCounts()
            if !corrections.isEmpty {
                self.logger.notice(
                    "finished-task counts corrected",
                    metadata: ["corrections": "\(corrections.map { "\($0.key.wireName)=\($0.value)" }.sorted().joined(separator: ","))"]
                )
            }
            try await Task.sleep(for: self.interval)
        }
    }
}

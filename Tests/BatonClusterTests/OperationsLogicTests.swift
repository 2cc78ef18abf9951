import BatonModel
import BatonScheduler
import Foundation
import Testing

/// Retention cutoffs, id bounds of a time range and the retry budget: pure logic.
@Suite struct OperationsLogicTests {
    private static let now = Date(timeIntervalSince1970: 1_800_000_000)

    private static func finished(_ type: String, hoursAgo: Double, status: TaskStatus = .succeeded) -> TaskRecord {
        let at = now.addingTimeInterval(-hoursAgo * 3600)
        return TaskRecord(taskID: "x", taskType: type, priority: .normal, payload: [:], status: status, maxRetries: 0, timeoutSeconds: 1, createdAt: at, updatedAt: at)
    }

    @Test func retentionPerTypeWithTheClusterDefault() {
        let types = [
            TaskConfigRecord(taskType: "short", executor: .local, timeoutSeconds: 1, maxRetries: 0, retryBackoffMs: 0, retentionHours: 1),
            TaskConfigRecord(taskType: "default", executor: .local, timeoutSeconds: 1, maxRetries: 0, retryBackoffMs: 0),
        ]
        let cutoffs = RetentionCutoffs(defaultHours: 168, types: types, now: Self.now)
        #expect(cutoffs.isDue(Self.finished("short", hoursAgo: 2)))
        #expect(!cutoffs.isDue(Self.finished("short", hoursAgo: 0.5)))
        #expect(!cutoffs.isDue(Self.finished("default", hoursAgo: 100)))
        #expect(cutoffs.isDue(Self.finished("default", hoursAgo: 169)))
        #expect(cutoffs.isDue(Self.finished("unknown", hoursAgo: 169)), "a type since deleted: the default")
        #expect(!cutoffs.isDue(Self.finished("short", hoursAgo: 5, status: .running)), "never an unfinished task")
        #expect(cutoffs.cutoff(for: "short") == Self.now.addingTimeInterval(-3600))
        #expect(cutoffs.cutoff(for: "unknown") == Self.now.addingTimeInterval(-168 * 3600))
        let forever = RetentionCutoffs(defaultHours: 0, types: [types[1]], now: Self.now)
        #expect(!forever.isDue(Self.finished("default", hoursAgo: 10_000)))
        #expect(forever.cutoff(for: "default") == nil)
    }

    @Test func idBoundsOfATimeRange() {
        let at = Date(timeIntervalSince1970: 1_700_000_000.1234)
        let id = TaskID.make(now: at)
        #expect(TaskID.bound(at: at, rounding: .down) <= id)
        #expect(TaskID.bound(at: at.addingTimeInterval(0.001), rounding: .up) > id)
        #expect(TaskID.bound(at: at.addingTimeInterval(-0.002), rounding: .down) < id)
        #expect(TaskID.isWellFormed(TaskID.bound(at: at, rounding: .down)))
    }

    @Test func aManualRetryGivesTheBudgetAgain() {
        // Two retries: attempts 1 and 2 may fail and be retried, attempt 3 is the last.
        var task = TaskRecord(taskID: "x", taskType: "t", priority: .normal, payload: [:], status: .running, attempt: 2, maxRetries: 2,
                              timeoutSeconds: 1, createdAt: Self.now, updatedAt: Self.now)
        #expect(RetryPolicy().retriesLeft(task))
        task.attempt = 3
        #expect(!RetryPolicy().retriesLeft(task))
        // Retried by hand after attempt 3: attempts 4 and 5 retry again, 6 is the last.
        task.retryBase = 3
        task.attempt = 4
        #expect(RetryPolicy().retriesLeft(task))
        task.attempt = 6
        #expect(!RetryPolicy().retriesLeft(task))
        task.workerLosses = 1
        #expect(RetryPolicy().retriesLeft(task), "an attempt lost with its worker spends nothing")
    }
}

import BatonAuth
import BatonBroker
import BatonModel
import BatonProto
import BatonRedis
@testable import BatonService
import BatonStore
import BatonTestSupport
import Foundation
import GRPCCore
import Logging
import SwiftProtobuf
import XCTest

/// Dead letters run again, bulk cancel and retry, pause and resume, delete
/// a type, search: through the API, on real MySQL and Redis.
final class OperationsTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws { self.harness = try await APIHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// Creates `count` tasks, then makes the first `failed` of them dead
    /// letters as a worker would leave them (FAILED after 3 attempts, off Redis).
    private func deadLetters(_ type: String, count: Int, failed: Int) async throws -> [String] {
        let harness = self.harness!
        var ids: [String] = []
        while ids.count < count {
            let n = min(500, count - ids.count)
            ids += try await harness.withClient { tasks, _ in
                try await tasks.batchCreateTasks(.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: n) }).tasks.map(\.taskID)
            }
        }
        for chunk in stride(from: 0, to: failed, by: 500) {
            let slice = Array(ids[chunk..<min(failed, chunk + 500)])
            try await harness.mysql.execute(
                "UPDATE task SET status = ?, attempt = 3, error = 'boom', finished_at = updated_at WHERE task_id IN (\(slice.map { _ in "?" }.joined(separator: ",")))",
                [.int(Int64(TaskStatus.failed.rawValue))] + slice.map { .string($0) }
            )
        }
        try await harness.inspector.clear(.queue(.normal))
        return ids
    }

    func testADeadLetterRunsAgainWithAFreshBudget() async throws {
        let type = try await self.harness.configure("retry", retries: 2)
        let harness = self.harness!
        let id = try await self.deadLetters(type, count: 1, failed: 1)[0]
        let retried = try await harness.withClient { tasks, _ in
            try await tasks.retryTask(.with {
                $0.taskID = id
                $0.reason = "downstream is back"
                $0.priority = .high
            })
        }
        XCTAssertEqual(retried.task.status, .queued)
        XCTAssertEqual(retried.task.attempt, 3, "attempt keeps counting")
        XCTAssertEqual(retried.task.priority, .high)
        XCTAssertFalse(retried.task.hasFinishedAt)
        XCTAssertEqual(retried.task.error, "")
        let queued = try await harness.inspector.members(.queue(.high))
        XCTAssertEqual(queued, ["1|\(id)|\(type)|1"], "the entry of the task's next generation")
        let row = try await harness.mysql.query("SELECT retry_base FROM task WHERE task_id = ?", [.string(id)])
        XCTAssertEqual(row.first?.int("retry_base"), 3)
        // The next attempt spends the first of two retries again.
        var next = TaskRecord(taskID: id, taskType: type, priority: .high, payload: [:], status: .running, attempt: 4, maxRetries: 2,
                              timeoutSeconds: 30, createdAt: Date(), updatedAt: Date(), retryBase: 3)
        XCTAssertTrue(RetryPolicy().retriesLeft(next))
        next.attempt = 6
        XCTAssertFalse(RetryPolicy().retriesLeft(next))
        let logs = try await harness.withClient { tasks, _ in try await tasks.getTaskLogs(.with { $0.taskID = id }).logs.map(\.message) }
        XCTAssertTrue(logs.contains { $0.contains("retried") && $0.contains("downstream is back") }, "\(logs)")

        // Only dead letters run again; unknown and malformed ids are refused.
        let again = await XCTAssertThrowsRPC { _ = try await harness.withClient { tasks, _ in try await tasks.retryTask(.with { $0.taskID = id }) } }
        XCTAssertEqual(again?.code, .failedPrecondition)
        let unknown = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.retryTask(.with { $0.taskID = TaskID.make() }) }
        }
        XCTAssertEqual(unknown?.code, .notFound)
        let malformed = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.retryTask(.with { $0.taskID = "nope" }) }
        }
        XCTAssertEqual(malformed?.code, .invalidArgument)
    }

    func testBulkRetryAndCancelWorkInBoundedBatches() async throws {
        let type = try await self.harness.configure("bulk")
        let harness = self.harness!
        let ids = try await self.deadLetters(type, count: 1300, failed: 1200)
        let filter = Baton_V1_TaskFilter.with {
            $0.statuses = [.failed]
            $0.taskType = type
        }
        let dry = try await harness.withClient { tasks, _ in
            try await tasks.bulkRetryTasks(.with {
                $0.filter = filter
                $0.dryRun = true
            })
        }
        XCTAssertEqual(dry.matched, 1200)
        XCTAssertEqual(dry.changed, 0)
        let failedNow = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(type), .int(6)])
        XCTAssertEqual(failedNow.first?.int("n"), 1200, "a dry run changes nothing")
        let first = try await harness.withClient { tasks, _ in
            try await tasks.bulkRetryTasks(.with {
                $0.filter = filter
                $0.limit = 700
                $0.reason = "outage over"
            })
        }
        XCTAssertEqual(first.matched, 700)
        XCTAssertEqual(first.changed, 700)
        let rest = try await harness.withClient { tasks, _ in try await tasks.bulkRetryTasks(.with { $0.filter = filter }) }
        XCTAssertEqual(rest.changed, 500)
        let queued = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(queued, 1200, "each retried task queued once")

        // Cancel every unfinished one of the type: the 100 never failed and the 1,200 retried.
        let cancelled = try await harness.withClient { tasks, _ in
            try await tasks.bulkCancelTasks(.with {
                $0.filter = .with { $0.taskType = type }
                $0.reason = "wrong batch"
            })
        }
        XCTAssertEqual(cancelled.changed, 1300)
        let left = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status <> ?", [.string(type), .int(7)])
        XCTAssertEqual(left.first?.int("n"), 0)
        XCTAssertEqual(ids.count, 1300)

        // Filters that would select everything, or statuses the call cannot change, are refused.
        for request in [
            Baton_V1_BulkTasksRequest(),
            .with { $0.filter = .with { $0.statuses = [.succeeded] } },
            .with {
                $0.filter = filter
                $0.limit = 100_001
            },
        ] {
            let refused = await XCTAssertThrowsRPC { _ = try await harness.withClient { tasks, _ in try await tasks.bulkRetryTasks(request) } }
            XCTAssertEqual(refused?.code, .invalidArgument)
        }
    }

    /// A dead-letter group retry examines a bounded stretch of the status
    /// per call, matching or not, and says where to go on: a group nothing
    /// matches costs the bound, never a walk of every FAILED row.
    func testADeadLetterGroupRetryExaminesBoundedStretches() async throws {
        let type = try await self.harness.configure("group")
        let harness = self.harness!
        let ids = try await self.deadLetters(type, count: 1200, failed: 1200)
        let service = TaskService(
            nodeID: "group-test", tasks: TaskStore(mysql: harness.mysql), configs: TaskConfigCache(store: TaskConfigStore(mysql: harness.mysql)),
            broker: harness.broker, hub: harness.hub, logger: Logger(label: "group-test")
        )
        // Group retry is an admin's call (the REST route asks for the role).
        try await Caller.$current.withValue(.open) {
            // An error no task has: one stretch of 700 examined, none matched, a continuation.
            let none = try await service.retryDeadLetters(taskType: type, status: .failed, error: "never", reason: "", pageToken: "", examining: 700)
            XCTAssertEqual([none.examined, none.matched, none.changed], [700, 0, 0])
            XCTAssertNotNil(none.nextPageToken)
            // Its token belongs to its group.
            let stolen = await APIHarness.code {
                _ = try await service.retryDeadLetters(taskType: type, status: .failed, error: "boom", reason: "", pageToken: none.nextPageToken ?? "", examining: 700)
            }
            XCTAssertEqual(stolen, .invalidArgument)

            // The group itself, call after call until no token comes back: each examines at most 700, all 1,200 are retried once.
            var token = ""
            var changed = 0
            var calls = 0
            repeat {
                let part = try await service.retryDeadLetters(taskType: type, status: .failed, error: "boom", reason: "", pageToken: token, examining: 700)
                XCTAssertLessThanOrEqual(part.examined, 700)
                changed += part.changed
                token = part.nextPageToken ?? ""
                calls += 1
            } while !token.isEmpty && calls < 100
            XCTAssertEqual(changed, 1200)
            let queued = try await harness.mysql.query(
                "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(type), .int(Int64(TaskStatus.queued.rawValue))]
            )
            XCTAssertEqual(queued.first?.int("n"), ids.count)
        }
    }

    func testPauseResumeAndDelete() async throws {
        let type = try await self.harness.configure("pause")
        let harness = self.harness!
        let paused = try await harness.withClient { _, admin in try await admin.pauseTaskType(.with { $0.taskType = type }) }
        XCTAssertTrue(paused.paused)
        // New tasks are still accepted while paused; a put does not unpause.
        let created = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }
        XCTAssertEqual(created.task.status, .queued)
        let limits = try await harness.inspector.limits(type)
        XCTAssertEqual(limits?.hasPrefix("0|0|1|"), true, "the dispatcher sees the pause at once: \(limits ?? "none")")
        let config = try await harness.withClient { _, admin in try await admin.getTaskConfig(.with { $0.taskType = type }) }
        var edited = config
        edited.timeoutSeconds = 99
        let changed = edited
        let put = try await harness.withClient { _, admin in try await admin.putTaskConfig(.with { $0.config = changed }) }
        XCTAssertTrue(put.paused)
        // Entries the dispatcher parked go back to the front, in order.
        let parked = ["0|a|\(type)", "0|b|\(type)"]
        try await harness.inspector.push(parked, onto: .parked(type))
        try await harness.inspector.push([type], onto: .parkedTypes)
        let resumed = try await harness.withClient { _, admin in try await admin.resumeTaskType(.with { $0.taskType = type }) }
        XCTAssertFalse(resumed.paused)
        let queue = try await harness.inspector.members(.queue(.normal))
        XCTAssertEqual(queue, parked + ["0|\(created.task.taskID)|\(type)"])
        let none = try await harness.inspector.count(.parked(type))
        XCTAssertEqual(none, 0)

        // A type with an unfinished task cannot go; without, it can.
        let refused = await XCTAssertThrowsRPC { _ = try await harness.withClient { _, admin in try await admin.deleteTaskConfig(.with { $0.taskType = type }) } }
        XCTAssertEqual(refused?.code, .failedPrecondition)
        _ = try await harness.withClient { tasks, _ in try await tasks.cancelTask(.with { $0.taskID = created.task.taskID }) }
        _ = try await harness.withClient { _, admin in try await admin.deleteTaskConfig(.with { $0.taskType = type }) }
        let gone = await XCTAssertThrowsRPC { _ = try await harness.withClient { _, admin in try await admin.getTaskConfig(.with { $0.taskType = type }) } }
        XCTAssertEqual(gone?.code, .notFound)
        let missing = await XCTAssertThrowsRPC { _ = try await harness.withClient { _, admin in try await admin.pauseTaskType(.with { $0.taskType = type }) } }
        XCTAssertEqual(missing?.code, .notFound)
    }

    func testSearchFilters() async throws {
        let type = try await self.harness.configure("search")
        let harness = self.harness!
        let early = try await harness.withClient { tasks, _ in
            try await tasks.batchCreateTasks(.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 5) }).tasks
        }
        try await Task.sleep(for: .milliseconds(20))
        let boundary = Date()
        try await Task.sleep(for: .milliseconds(20))
        let keyed = try await harness.withClient { tasks, _ in
            try await tasks.createTask(.with {
                $0.taskType = type
                $0.idempotencyKey = "order-42"
            })
        }.task
        try await harness.mysql.execute("UPDATE task SET worker_id = 'w-search' WHERE task_id = ?", [.string(early[1].taskID)])

        let list = { (configure: @Sendable (inout Baton_V1_ListTasksRequest) -> Void) in
            try await harness.withClient { tasks, _ in
                try await tasks.listTasks(.with {
                    $0.taskType = type
                    configure(&$0)
                }).tasks.map(\.taskID)
            }
        }
        let after = try await list { $0.createdAfter = Google_Protobuf_Timestamp(date: boundary) }
        XCTAssertEqual(after, [keyed.taskID])
        let before = try await list {
            $0.createdBefore = Google_Protobuf_Timestamp(date: boundary)
            $0.oldestFirst = true
        }
        // Oldest first is id order (one batch shares a millisecond: ids then order by their random part).
        XCTAssertEqual(before, early.map(\.taskID).sorted())
        let byWorker = try await list { $0.workerID = "w-search" }
        XCTAssertEqual(byWorker, [early[1].taskID])
        let byKey = try await list { $0.idempotencyKey = "order-42" }
        XCTAssertEqual(byKey, [keyed.taskID])
        let workerAlone = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.listTasks(.with { $0.workerID = "w-search" }) }
        }
        XCTAssertEqual(workerAlone?.code, .invalidArgument)
        let keyAlone = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.listTasks(.with { $0.idempotencyKey = "order-42" }) }
        }
        XCTAssertEqual(keyAlone?.code, .invalidArgument)
        // Oldest first, a page at a time.
        var seen: [String] = []
        var token = ""
        repeat {
            let page = try await harness.withClient { [token] tasks, _ in
                try await tasks.listTasks(.with {
                    $0.taskType = type
                    $0.oldestFirst = true
                    $0.pageSize = 2
                    $0.pageToken = token
                })
            }
            seen += page.tasks.map(\.taskID)
            token = page.nextPageToken
        } while !token.isEmpty
        XCTAssertEqual(seen, early.map(\.taskID).sorted() + [keyed.taskID])
        let reversed = await XCTAssertThrowsRPC {
            _ = try await list {
                $0.createdAfter = Google_Protobuf_Timestamp(date: boundary)
                $0.createdBefore = Google_Protobuf_Timestamp(date: boundary.addingTimeInterval(-1))
            }
        }
        XCTAssertEqual(reversed?.code, .invalidArgument)
    }

    func testAnUnknownDependencyIsRefusedAndCreatesNothing() async throws {
        let type = try await self.harness.configure("later")
        let harness = self.harness!
        let dependent = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in
                try await tasks.createTask(.with {
                    $0.taskType = type
                    $0.dependsOn = [TaskID.make()]
                })
            }
        }
        XCTAssertEqual(dependent?.code, .invalidArgument)
        let count = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)])
        XCTAssertEqual(count.first?.int("n"), 0, "nothing created")
    }
}

import BatonBroker
import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import XCTest

final class TaskServiceTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws {
        self.harness = try await APIHarness()
    }

    override func tearDown() async throws {
        try await self.harness.shutdown()
    }

    func testCreateGetAndEnqueue() async throws {
        let type = try await self.harness.configure("create", timeout: 45, retries: 4)
        let harness = self.harness!
        let (normal, high, delayed) = try await harness.withClient { tasks, _ in
            let normal = try await tasks.createTask(.with {
                $0.taskType = type
                $0.payload = ["to": "a@example.com", "emoji": "🎉"]
            })
            let high = try await tasks.createTask(.with {
                $0.taskType = type
                $0.priority = .high
                $0.timeoutSeconds = 7
                $0.maxRetries = 0
            })
            let delayed = try await tasks.createTask(.with {
                $0.taskType = type
                $0.runAt = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(3600))
            })
            return (normal, high, delayed)
        }
        XCTAssertEqual(normal.task.status, .queued)
        XCTAssertFalse(normal.deduplicated)
        XCTAssertEqual(normal.task.timeoutSeconds, 45)
        XCTAssertEqual(normal.task.maxRetries, 4)
        XCTAssertEqual(normal.task.attempt, 0)
        XCTAssertEqual(normal.task.payload["emoji"], "🎉")
        XCTAssertEqual(high.task.timeoutSeconds, 7)
        XCTAssertEqual(high.task.maxRetries, 0)
        XCTAssertEqual(high.task.priority, .high)
        XCTAssertTrue(TaskID.isWellFormed(normal.task.taskID))

        // Each is where it waits.
        let normalQueue = try await harness.inspector.members(.queue(.normal))
        XCTAssertEqual(normalQueue, ["0|\(normal.task.taskID)|\(type)"])
        let highQueue = try await harness.inspector.members(.queue(.high))
        XCTAssertEqual(highQueue, ["1|\(high.task.taskID)|\(type)"])
        let delayedSet = try await harness.inspector.members(.delayed)
        XCTAssertEqual(delayedSet, ["0|\(delayed.task.taskID)|\(type)"])

        let fetched = try await harness.withClient { tasks, _ in
            try await tasks.getTask(.with { $0.taskID = normal.task.taskID })
        }
        XCTAssertEqual(fetched.task, normal.task)
        XCTAssertEqual(fetched.task.createdAt, normal.task.createdAt)
        XCTAssertEqual(Double(delayed.task.runAt.seconds), Date().timeIntervalSince1970 + 3600, accuracy: 5)
    }

    func testBatchCreateIsOneAllOrNothingCall() async throws {
        let type = try await self.harness.configure("batch")
        let harness = self.harness!
        let created = try await harness.withClient { tasks, _ in
            try await tasks.batchCreateTasks(.with {
                $0.tasks = (0..<500).map { index in
                    .with {
                        $0.taskType = type
                        $0.priority = index % 5 == 0 ? .high : .normal
                        $0.payload = ["n": "\(index)"]
                    }
                }
            })
        }
        XCTAssertEqual(created.tasks.count, 500)
        XCTAssertEqual(created.tasks.map { $0.payload["n"] }, (0..<500).map { "\($0)" })
        XCTAssertEqual(Set(created.tasks.map(\.taskID)).count, 500)
        let high = try await harness.inspector.count(.queue(.high))
        let normal = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(high, 100)
        XCTAssertEqual(normal, 400)

        // One bad item: nothing is created.
        let error = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in
                try await tasks.batchCreateTasks(.with {
                    $0.tasks = [.with { $0.taskType = type }, .with { $0.taskType = type; $0.maxRetries = 101 }]
                })
            }
        }
        XCTAssertEqual(error?.code, .invalidArgument)
        XCTAssertTrue(error?.message.contains("tasks[1].max_retries") ?? false, error?.message ?? "")
        let rows = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)])
        XCTAssertEqual(rows.first?.int("n"), 500)

        let tooMany = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in
                try await tasks.batchCreateTasks(.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 1001) })
            }
        }
        XCTAssertEqual(tooMany?.code, .invalidArgument)
    }

    func testIdempotencyKeyUnderConcurrency() async throws {
        let type = try await self.harness.configure("idem")
        let harness = self.harness!
        let results = try await harness.withClient { tasks, _ in
            try await withThrowingTaskGroup(of: Baton_V1_CreateTaskResponse.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await tasks.createTask(.with {
                            $0.taskType = type
                            $0.idempotencyKey = "order-42"
                        })
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        XCTAssertEqual(results.count, 50)
        XCTAssertEqual(Set(results.map(\.task.taskID)).count, 1)
        XCTAssertEqual(results.filter { !$0.deduplicated }.count, 1)
        let rows = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)])
        XCTAssertEqual(rows.first?.int("n"), 1)
        let queued = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(queued, 1)

        // Item by item in a batch, including a repeat inside the batch.
        let batch = try await harness.withClient { tasks, _ in
            try await tasks.batchCreateTasks(.with {
                $0.tasks = [
                    .with { $0.taskType = type; $0.idempotencyKey = "order-42" },
                    .with { $0.taskType = type; $0.idempotencyKey = "order-43" },
                    .with { $0.taskType = type; $0.idempotencyKey = "order-43" },
                    .with { $0.taskType = type },
                ]
            })
        }
        XCTAssertEqual(batch.tasks[0].taskID, results[0].task.taskID)
        XCTAssertEqual(batch.tasks[1].taskID, batch.tasks[2].taskID)
        XCTAssertNotEqual(batch.tasks[1].taskID, batch.tasks[3].taskID)
        let after = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)])
        XCTAssertEqual(after.first?.int("n"), 3)
    }

    func testListTasksPagesStayCorrectWhileInserting() async throws {
        let type = try await self.harness.configure("list")
        let other = try await self.harness.configure("list_other")
        let harness = self.harness!
        let first = try await harness.withClient { tasks, _ in
            try await tasks.batchCreateTasks(.with { $0.tasks = (0..<25).map { _ in .with { $0.taskType = type } } })
        }
        _ = try await harness.withClient { tasks, _ in
            try await tasks.createTask(.with { $0.taskType = other })
        }
        let (seen, pages) = try await harness.withClient { tasks, _ in
            var seen: [String] = []
            var token = ""
            var pages = 0
            repeat {
                let page = try await tasks.listTasks(.with {
                    $0.taskType = type
                    $0.statuses = [.queued]
                    $0.pageSize = 10
                    $0.pageToken = token
                })
                seen += page.tasks.map(\.taskID)
                token = page.nextPageToken
                pages += 1
                // New tasks arriving between pages do not shift the pages.
                _ = try await tasks.createTask(.with { $0.taskType = type })
            } while !token.isEmpty
            return (seen, pages)
        }
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(seen, first.tasks.map(\.taskID).sorted().reversed())

        let defaults = try await harness.withClient { tasks, _ in
            try await tasks.listTasks(.with { $0.taskType = type })
        }
        XCTAssertEqual(defaults.tasks.count, 28)
        XCTAssertTrue(defaults.nextPageToken.isEmpty)

        let negative = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.listTasks(.with { $0.pageSize = -1 }) }
        }
        XCTAssertEqual(negative?.code, .invalidArgument)
        let garbage = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.listTasks(.with { $0.pageToken = "not-a-token" }) }
        }
        XCTAssertEqual(garbage?.code, .invalidArgument)
        let clamped = try await harness.withClient { tasks, _ in
            try await tasks.listTasks(.with { $0.taskType = type; $0.pageSize = 5000 })
        }
        XCTAssertEqual(clamped.tasks.count, 28)
    }

    func testCancelWatchAndLogs() async throws {
        let type = try await self.harness.configure("cancel")
        let harness = self.harness!
        let created = try await harness.withClient { tasks, _ in
            try await tasks.createTask(.with { $0.taskType = type })
        }
        let id = created.task.taskID

        // A watcher sees the current state, then the cancel, then the stream ends.
        async let watched: [Baton_V1_TaskStatus] = harness.withClient { tasks, _ in
            try await tasks.watchTask(.with { $0.taskID = id }) { response in
                var statuses: [Baton_V1_TaskStatus] = []
                for try await task in response.messages { statuses.append(task.status) }
                return statuses
            }
        }
        // Cancel once the watcher is listening.
        let listening = try await TestEnvironment.waitUntil { harness.hub.listenerCount >= 2 }
        XCTAssertTrue(listening)
        let cancelled = try await harness.withClient { tasks, _ in
            try await tasks.cancelTask(.with {
                $0.taskID = id
                $0.reason = "changed my mind"
            })
        }
        XCTAssertEqual(cancelled.task.status, .cancelled)
        XCTAssertEqual(cancelled.task.attempt, 0)
        XCTAssertTrue(cancelled.task.hasFinishedAt)
        XCTAssertFalse(cancelled.task.hasStartedAt)
        let statuses = try await watched
        XCTAssertEqual(statuses, [.queued, .cancelled])

        // Tombstoned where it waits (the dispatcher drops it); a second cancel is refused.
        let entry = try await harness.inspector.members(.queue(.normal))
        let tombstones = try await harness.inspector.members(.tombstones)
        XCTAssertEqual(tombstones.filter { $0.contains(id) }, entry.filter { $0.contains(id) })
        XCTAssertEqual(entry.filter { $0.contains(id) }.count, 1)
        let again = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.cancelTask(.with { $0.taskID = id }) }
        }
        XCTAssertEqual(again?.code, .failedPrecondition)

        let logs = try await harness.withClient { tasks, _ in
            try await tasks.getTaskLogs(.with { $0.taskID = id })
        }
        XCTAssertEqual(logs.logs.map(\.message), ["cancelled: changed my mind"])

        // A watch of a finished task sends it once and ends.
        let finished = try await harness.withClient { tasks, _ in
            try await tasks.watchTask(.with { $0.taskID = id }) { response in
                var count = 0
                for try await _ in response.messages { count += 1 }
                return count
            }
        }
        XCTAssertEqual(finished, 1)
    }

    func testLogsArePagedOldestFirst() async throws {
        let type = try await self.harness.configure("logs")
        let harness = self.harness!
        let created = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }
        let id = created.task.taskID
        try await harness.mysql.insertRows(
            into: "task_logs",
            columns: ["task_id", "attempt", "worker_id", "level", "message", "created_at"],
            rows: (0..<15).map { [.string(id), 1, "w", "INFO", .string("line \($0)"), .date(Date())] }
        )
        let messages = try await harness.withClient { tasks, _ in
            var messages: [String] = []
            var token = ""
            repeat {
                let page = try await tasks.getTaskLogs(.with {
                    $0.taskID = id
                    $0.pageSize = 4
                    $0.pageToken = token
                })
                messages += page.logs.map(\.message)
                token = page.nextPageToken
            } while !token.isEmpty
            return messages
        }
        XCTAssertEqual(messages, (0..<15).map { "line \($0)" })
    }

    func testUnknownAndMalformedIDs() async throws {
        let harness = self.harness!
        let unknown = TaskID.make()
        for call in ["get", "cancel", "logs", "watch"] {
            let error = await XCTAssertThrowsRPC {
                _ = try await harness.withClient { tasks, _ in
                    switch call {
                    case "get": _ = try await tasks.getTask(.with { $0.taskID = unknown })
                    case "cancel": _ = try await tasks.cancelTask(.with { $0.taskID = unknown })
                    case "logs": _ = try await tasks.getTaskLogs(.with { $0.taskID = unknown })
                    default: try await tasks.watchTask(.with { $0.taskID = unknown }) { response in for try await _ in response.messages {} }
                    }
                }
            }
            XCTAssertEqual(error?.code, .notFound, call)
        }
        for bad in ["", "x", "' OR 1=1 --", String(repeating: "a", count: 36), "00000000-0000-0000-0000-00000000000g"] {
            let error = await XCTAssertThrowsRPC {
                _ = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = bad }) }
            }
            XCTAssertEqual(error?.code, .invalidArgument, bad)
        }
    }

    func testGetStats() async throws {
        let type = try await self.harness.configure("stats")
        let harness = self.harness!
        try await harness.inspector.setLeaderLock("server-9|token")
        try await harness.inspector.setLeaderEpoch(7)
        try await harness.inspector.writeWorker(
            "w1", beatMs: 1,
            fields: ["node_id": "server-9", "capacity": "10", "running": "2", "queued": "1", "types": "echo,noop", "heartbeat_ms": "1700000000000"]
        )
        // A worker of every type, its load read from its lists (not its last beat's fields).
        try await harness.inspector.writeWorker(
            "w2", beatMs: 2,
            fields: ["node_id": "server-8", "capacity": "10", "running": "0", "queued": "0", "types": "*", "heartbeat_ms": "1700000000000"]
        )
        try await harness.inspector.push(["0|a|echo", "0|b|echo"], onto: .inFlight("w2"))
        try await harness.inspector.push(["0|c|echo"], onto: .workerQueue("w2", .normal))
        let stats = try await harness.withClient { tasks, _ in
            _ = try await tasks.createTask(.with { $0.taskType = type; $0.priority = .high })
            return try await tasks.getStats(.init())
        }
        XCTAssertEqual(stats.workers.last?.taskTypes, [], "every type: empty, not [\"*\"]")
        XCTAssertEqual(stats.workers.last?.running, 2)
        XCTAssertEqual(stats.workers.last?.queued, 1)
        XCTAssertEqual(stats.nodeID, "test-node")
        XCTAssertEqual(stats.leaderNodeID, "server-9")
        XCTAssertEqual(stats.leaderEpoch, 7)
        XCTAssertEqual(stats.queueHigh, 1)
        XCTAssertEqual(stats.workers.map(\.workerID), ["w1", "w2"])
        XCTAssertEqual(stats.workers.first?.capacity, 10)
        XCTAssertEqual(stats.workers.first?.taskTypes, ["echo", "noop"])
        // The two entries w2 holds in flight count as running (attempts
        // whose start is not written yet read waiting in MySQL).
        XCTAssertGreaterThanOrEqual(stats.tasksByStatus["TASK_STATUS_RUNNING"] ?? 0, 1)
        XCTAssertGreaterThanOrEqual((stats.tasksByStatus["TASK_STATUS_QUEUED"] ?? 0) + (stats.tasksByStatus["TASK_STATUS_RUNNING"] ?? 0), 1)
    }

    /// PutTaskConfig tells the dispatcher at once what a type needs; GetStats
    /// names the types no live worker runs, and what each worker advertises.
    func testGetStatsNamesTheTypesNoLiveWorkerRuns() async throws {
        let served = try await self.harness.configure("served")
        let unserved = try await self.harness.configure("unserved")
        let harness = self.harness!
        try await harness.inspector.writeWorker(
            "w1", beatMs: 1,
            fields: ["node_id": "server-9", "capacity": "10", "types": "*", "executors": "@grpc,@http,\(served)", "heartbeat_ms": "1700000000000"]
        )
        try await harness.inspector.push(["0|a|\(unserved)", "0|b|\(unserved)"], onto: .parked(unserved))
        let stats = try await harness.withClient { tasks, _ in try await tasks.getStats(.init()) }
        let mine = stats.unservedTaskTypes.filter { $0.taskType.hasPrefix(harness.taskType("")) }
        XCTAssertEqual(mine.map(\.taskType), [unserved])
        XCTAssertEqual(mine.first?.parkedTasks, 2)
        XCTAssertEqual(stats.workers.first?.executorKinds, ["grpc", "http"])
        XCTAssertEqual(stats.workers.first?.localHandlers, [served])
    }
}

/// Runs `body`, expecting an RPCError; returns it (nil and a failure otherwise).
func XCTAssertThrowsRPC(
    file: StaticString = #filePath,
    line: UInt = #line,
    _ body: () async throws -> Void
) async -> RPCError? {
    do {
        try await body()
        XCTFail("expected an RPC error", file: file, line: line)
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        XCTFail("expected an RPC error, got \(error)", file: file, line: line)
        return nil
    }
}

import BatonBroker
import BatonModel
import BatonStore
import BatonTestSupport
import BatonWorker
import Foundation
import XCTest

final class WorkerTests: XCTestCase {
    private var harness: WorkerHarness!

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 3, gracePeriod: .milliseconds(300)) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private func waitForStatus(_ id: String, _ statuses: Set<TaskStatus>, timeout: Duration = .seconds(15)) async throws -> TaskRecord {
        let harness = self.harness!
        let reached = try await TestEnvironment.waitUntil(timeout: timeout) { statuses.contains(try await harness.task(id).status) }
        let task = try await harness.task(id)
        XCTAssertTrue(reached, "task is \(task.status), expected \(statuses)")
        return task
    }

    func testLocalSuccessWithLifecycleLogs() async throws {
        let type = try await self.harness.type("echo", handler: "echo")
        let created = try await self.harness.create(type: type, payload: ["a": "1", "quote": "\"x\""])
        let task = try await self.waitForStatus(created.taskID, [.succeeded])
        XCTAssertEqual(task.result, #"{"a":"1","quote":"\"x\""}"#)
        XCTAssertEqual(task.attempt, 1)
        XCTAssertNotNil(task.startedAt)
        XCTAssertNotNil(task.finishedAt)
        let harness = self.harness!
        let logged = try await TestEnvironment.waitUntil { try await harness.logs(created.taskID).count >= 2 }
        XCTAssertTrue(logged)
        let lines = try await harness.logs(created.taskID)
        XCTAssertTrue(lines[0].hasPrefix("started attempt 1 on worker"), "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("succeeded in") }, "\(lines)")
    }

    func testRetryableFailureBacksOffThenFails() async throws {
        let type = try await self.harness.type("flaky", handler: "fail", retries: 2, backoffMs: 300)
        let created = try await self.harness.create(type: type, payload: ["message": "downstream 503", "retryable": "true"], retries: 2)
        let task = try await self.waitForStatus(created.taskID, [.failed])
        let harness = self.harness!
        _ = try await TestEnvironment.waitUntil { try await harness.logs(created.taskID).contains { $0.hasPrefix("failed after") && !$0.contains("retry") } }
        let records = try await self.harness.base.tasks.logs(created.taskID, afterID: 0, limit: 100)
        XCTAssertEqual(task.attempt, 3, "\(records.map { "\($0.attempt) \($0.message)" })")
        XCTAssertEqual(task.error, "downstream 503")
        let starts = records.filter { $0.message.hasPrefix("started attempt") }.map(\.createdAt)
        let failures = records.filter { $0.message.contains("retry scheduled") }.map(\.createdAt)
        guard starts.count == 3, failures.count == 2 else { return XCTFail("\(records.map { "\($0.attempt) \($0.createdAt.timeIntervalSince1970) \($0.message)" })") }
        // Backoff 300 ms, then 600 ms, each with ±20% jitter.
        XCTAssertGreaterThanOrEqual(starts[1].timeIntervalSince(failures[0]), 0.24)
        XCTAssertGreaterThanOrEqual(starts[2].timeIntervalSince(failures[1]), 0.48)
    }

    func testNonRetryableFailureEndsAtOnce() async throws {
        let type = try await self.harness.type("bad", handler: "fail", retries: 5)
        let created = try await self.harness.create(type: type, payload: ["message": "invalid input"], retries: 5)
        let task = try await self.waitForStatus(created.taskID, [.failed])
        XCTAssertEqual(task.attempt, 1)
        XCTAssertEqual(task.error, "invalid input")
    }

    func testUnknownHandlerFailsClearly() async throws {
        let type = try await self.harness.type("nohandler", handler: "no_such_handler")
        let created = try await self.harness.create(type: type)
        let task = try await self.waitForStatus(created.taskID, [.failed])
        XCTAssertTrue(task.error?.contains("no local handler named \"no_such_handler\"") ?? false, task.error ?? "")
    }

    func testTimeoutAbortsTheAttempt() async throws {
        let type = try await self.harness.type("slow", handler: "sleep", timeout: 1)
        let created = try await self.harness.create(type: type, payload: ["ms": "20000"], timeout: 1)
        let started = ContinuousClock.now
        let task = try await self.waitForStatus(created.taskID, [.timeout])
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        XCTAssertEqual(task.error, "timed out after 1 s")
        let harness = self.harness!
        let freed = try await TestEnvironment.waitUntil(timeout: .seconds(2)) { harness.worker.runningCount == 0 }
        XCTAssertTrue(freed)
    }

    func testCancelAbortsARunningTaskWithinASecond() async throws {
        let type = try await self.harness.type("long", handler: "sleep")
        let created = try await self.harness.create(type: type, payload: ["ms": "30000"])
        _ = try await self.waitForStatus(created.taskID, [.running])
        let harness = self.harness!
        // What CancelTask does: the conditional update, then the signal.
        let (task, cancelled) = try await harness.base.tasks.cancel(created.taskID, reason: "cancelled: test")
        XCTAssertTrue(cancelled)
        let signalled = ContinuousClock.now
        try await harness.base.broker.cancel(task!)
        let freed = try await TestEnvironment.waitUntil(timeout: .seconds(2), every: .milliseconds(5)) { harness.worker.runningCount == 0 }
        XCTAssertTrue(freed)
        XCTAssertLessThan(ContinuousClock.now - signalled, .seconds(1))
        let after = try await harness.task(created.taskID)
        XCTAssertEqual(after.status, .cancelled)
        let logged = try await TestEnvironment.waitUntil { try await harness.logs(created.taskID).contains { $0.hasPrefix("cancelled while running") } }
        XCTAssertTrue(logged)
    }

    func testAMassCancelElsewhereDoesNotCrowdOutThisWorkersSignal() async throws {
        let type = try await self.harness.type("crowd", handler: "sleep")
        let created = try await self.harness.create(type: type, payload: ["ms": "30000"])
        _ = try await self.waitForStatus(created.taskID, [.running])
        let harness = self.harness!
        // 2,000 cancels of tasks another worker runs come first.
        let others = try await harness.base.create(2000, type: try await harness.base.type("elsewhere"))
        try await harness.base.mysql.execute(
            "UPDATE task SET worker_id = 'another-worker' WHERE task_type = ?", [.string(others[0].taskType)]
        )
        for task in others {
            var running = task
            running.workerID = "another-worker"
            try await harness.base.broker.cancel(running)
        }
        let (task, _) = try await harness.base.tasks.cancel(created.taskID, reason: "cancelled: test")
        let signalled = ContinuousClock.now
        try await harness.base.broker.cancel(task!)
        let freed = try await TestEnvironment.waitUntil(timeout: .seconds(2), every: .milliseconds(5)) { harness.worker.runningCount == 0 }
        XCTAssertTrue(freed)
        XCTAssertLessThan(ContinuousClock.now - signalled, .seconds(1))
        let mine = try await harness.base.redis.send("LLEN", harness.base.keys.workerCancels(harness.worker.configuration.workerID)).int
        XCTAssertEqual(mine, 0, "this worker read its own signal")
        let theirs = try await harness.base.redis.send("LLEN", harness.base.keys.workerCancels("another-worker")).int
        XCTAssertEqual(theirs, 2000, "the other worker's signals are its own")
    }

    func testCapacityIsNeverExceeded() async throws {
        let type = try await self.harness.type("busy", handler: "sleep")
        var ids: [String] = []
        for _ in 0..<9 { ids.append(try await self.harness.create(type: type, payload: ["ms": "150"]).taskID) }
        let harness = self.harness!
        var peak = 0
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(20), every: .milliseconds(10)) {
            peak = max(peak, harness.worker.runningCount)
            let rows = try await harness.base.mysql.query(
                "SELECT SUM(status = ?) AS running, SUM(status = ?) AS finished FROM task WHERE task_type = ?",
                [.int(Int64(TaskStatus.running.rawValue)), .int(Int64(TaskStatus.succeeded.rawValue)), .string(type)]
            )
            XCTAssertLessThanOrEqual(rows.first?.int("running") ?? 0, 3)
            return rows.first?.int("finished") == 9
        }
        XCTAssertTrue(done)
        XCTAssertLessThanOrEqual(peak, 3)
        XCTAssertGreaterThanOrEqual(peak, 2)
    }

    func testConfigChangeTakesEffectWithoutRestart() async throws {
        self.harness.registry.register("variant_a") { _, _ in "A" }
        self.harness.registry.register("variant_b") { _, _ in "B" }
        let type = try await self.harness.type("variant", handler: "variant_a")
        let first = try await self.harness.create(type: type)
        let a = try await self.waitForStatus(first.taskID, [.succeeded])
        XCTAssertEqual(a.result, "A")
        _ = try await self.harness.type("variant", handler: "variant_b")
        try await self.harness.base.broker.publish([.configChanged(taskType: type)])
        let harness = self.harness!
        let switched = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
            try await harness.cache.config(type)?.endpoint == "variant_b"
        }
        XCTAssertTrue(switched)
        let second = try await self.harness.create(type: type)
        let b = try await self.waitForStatus(second.taskID, [.succeeded])
        XCTAssertEqual(b.result, "B")
    }

    func testGracefulStopHandsBackUnfinishedWork() async throws {
        let type = try await self.harness.type("handback", handler: "sleep")
        let created = try await self.harness.create(type: type, payload: ["ms": "20000"])
        _ = try await self.waitForStatus(created.taskID, [.running])
        let stopped = ContinuousClock.now
        await self.harness.stopWorker()
        XCTAssertLessThan(ContinuousClock.now - stopped, .seconds(3))
        let task = try await self.harness.task(created.taskID)
        XCTAssertEqual(task.status, .queued)
        XCTAssertEqual(task.attempt, 0)
        let keys = self.harness.base.keys
        // Back on the queue, or already dispatched again to a worker queue; not in flight.
        let queue = try await self.harness.base.list(keys.normalQueue) + self.harness.base.list(keys.workerQueue(self.harness.worker.configuration.workerID))
        XCTAssertTrue(queue.contains(QueueEntry(task).member), "\(queue)")
        let inFlight = try await self.harness.base.list(keys.workerInFlight(self.harness.worker.configuration.workerID))
        XCTAssertEqual(inFlight, [])
        let registered = try await self.harness.base.redis.send("ZSCORE", keys.workers, self.harness.worker.configuration.workerID)
        XCTAssertEqual(registered, .null)
    }
}

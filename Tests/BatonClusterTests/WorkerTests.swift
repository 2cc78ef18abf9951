import BatonBroker
import BatonModel
import BatonStore
import BatonTestSupport
@testable import BatonWorker
import Foundation
import Synchronization
import XCTest

final class WorkerTests: XCTestCase {
    private var harness: WorkerHarness!

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 3, gracePeriod: .milliseconds(300)) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testLocalSuccessWithLifecycleLogs() async throws {
        let type = try await self.harness.type("echo", handler: "echo")
        let created = try await self.harness.create(type: type, payload: ["a": "1", "quote": "\"x\""])
        let task = try await self.harness.waitForStatus(created.taskID, [.succeeded])
        XCTAssertEqual(task.result, #"{"a":"1","quote":"\"x\""}"#)
        XCTAssertEqual(task.attempt, 1)
        XCTAssertNotNil(task.startedAt)
        XCTAssertNotNil(task.finishedAt)
        let harness = self.harness!
        // A plain success within the quiet window writes no lines: the row says it all.
        try await Task.sleep(for: .milliseconds(300))
        let quiet = try await harness.logs(created.taskID)
        XCTAssertEqual(quiet, [], "a plain success leaves no system lines")

        // A handler that logs: its attempt's lines are written, in order.
        let sleep = try await self.harness.type("sleep", handler: "sleep")
        let logging = try await self.harness.create(type: sleep, payload: ["ms": "50"])
        _ = try await self.harness.waitForStatus(logging.taskID, [.succeeded])
        let logged = try await TestEnvironment.waitUntil { try await harness.logs(logging.taskID).count >= 3 }
        XCTAssertTrue(logged)
        let lines = try await harness.logs(logging.taskID)
        XCTAssertEqual(lines.count, 3, "\(lines)")
        XCTAssertTrue(lines[0].hasPrefix("started attempt 1 on worker"), "\(lines)")
        XCTAssertEqual(lines[1], "sleeping 50 ms")
        XCTAssertTrue(lines[2].hasPrefix("succeeded in"), "\(lines)")
    }

    /// The writer's quiet window on its own: a held line outlasting it is
    /// written, and its attempt's success then writes its line too.
    func testAHeldStartLineIsWrittenWhenTheAttemptOutlastsTheQuietWindow() async throws {
        let logs = TaskLogWriter(store: self.harness.base.tasks, flushInterval: .milliseconds(20), quietWindow: .milliseconds(100), logger: self.harness.base.logger)
        let id = UUID().uuidString
        let line = { (message: String) in TaskLogRecord(taskID: id, attempt: 1, workerID: "w", level: "INFO", message: message, createdAt: Date()) }
        logs.hold(line("started"))
        await logs.flush()
        let harness = self.harness!
        let early = try await harness.logs(id)
        XCTAssertEqual(early, [], "held within the window")
        try await Task.sleep(for: .milliseconds(150))
        await logs.flush()
        let late = try await harness.logs(id)
        XCTAssertEqual(late, ["started"], "written once the attempt outlasted the window")
        XCTAssertFalse(logs.endQuietly(id), "its success must write its line too")
        // Held again and ended quietly: nothing more.
        logs.hold(line("started again"))
        XCTAssertTrue(logs.endQuietly(id))
        await logs.flush()
        let after = try await harness.logs(id)
        XCTAssertEqual(after, ["started"])
    }

    /// A line held anew after its task's earlier one ended quietly counts its
    /// window from the new hold: the earlier hold's time passing writes nothing.
    func testALineHeldAnewCountsItsWindowFromTheNewHold() async throws {
        let logs = TaskLogWriter(store: self.harness.base.tasks, flushInterval: .seconds(60), quietWindow: .seconds(1), logger: self.harness.base.logger)
        let id = UUID().uuidString
        let line = { (message: String) in TaskLogRecord(taskID: id, attempt: 1, workerID: "w", level: "INFO", message: message, createdAt: Date()) }
        let harness = self.harness!
        logs.hold(line("first"))
        XCTAssertTrue(logs.endQuietly(id))
        try await Task.sleep(for: .milliseconds(600))
        logs.hold(line("second"))
        try await Task.sleep(for: .milliseconds(500))
        await logs.flush()
        let early = try await harness.logs(id)
        XCTAssertEqual(early, [], "the first hold's window is over, the second's is not")
        try await Task.sleep(for: .milliseconds(700))
        await logs.flush()
        let late = try await harness.logs(id)
        XCTAssertEqual(late, ["second"])
    }

    /// A worker books what it finishes under the task's tenant: the
    /// tenant's GetStats counts follow its tasks, not the default tenant's.
    func testFinishedTasksAreCountedUnderTheirTenant() async throws {
        let tenant = "worker-tenant." + TestEnvironment.uniqueName("t")
        let echo = try await self.harness.type("tenant-echo", handler: "echo")
        let failing = try await self.harness.type("tenant-fail", handler: "fail")
        let succeeded = try await self.harness.create(type: echo, tenant: tenant)
        let failed = try await self.harness.create(type: failing, payload: ["message": "no", "retryable": "false"], tenant: tenant)
        _ = try await self.harness.waitForStatus(succeeded.taskID, [.succeeded])
        _ = try await self.harness.waitForStatus(failed.taskID, [.failed])
        let counts = try await self.harness.base.tasks.countsByStatus(tenant: tenant)
        XCTAssertEqual(counts[.succeeded], 1)
        XCTAssertEqual(counts[.failed], 1)
        let stored = try await self.harness.base.tasks.task(succeeded.taskID)
        XCTAssertEqual(stored?.tenant, tenant)
        try await self.harness.base.mysql.execute("DELETE FROM task_status_count WHERE tenant = ?", [.string(tenant)])
    }

    func testRetryableFailureBacksOffThenFails() async throws {
        let type = try await self.harness.type("flaky", handler: "fail", retries: 2, backoffMs: 300)
        let created = try await self.harness.create(type: type, payload: ["message": "downstream 503", "retryable": "true"], retries: 2)
        let task = try await self.harness.waitForStatus(created.taskID, [.failed])
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
        let task = try await self.harness.waitForStatus(created.taskID, [.failed])
        XCTAssertEqual(task.attempt, 1)
        XCTAssertEqual(task.error, "invalid input")
    }

    /// Before workers advertised their handlers, such a task failed on the
    /// worker that took it; now it waits for a worker that has the handler.
    func testATypeWhoseHandlerNoWorkerHasWaitsUntilOneDoes() async throws {
        let type = try await self.harness.type("nohandler", handler: "no_such_handler")
        try await self.harness.base.broker.setLimits(TypeLimits(try await self.harness.base.configs.config(type)!))
        let created = try await self.harness.create(type: type)
        try await Task.sleep(for: .seconds(1))
        let waiting = try await self.harness.task(created.taskID)
        XCTAssertEqual(waiting.status, .queued)
        self.harness.registry.register("no_such_handler") { _, _ in "registered late" }
        let task = try await self.harness.waitForStatus(created.taskID, [.succeeded])
        XCTAssertEqual(task.result, "registered late")
    }

    func testTimeoutAbortsTheAttempt() async throws {
        let type = try await self.harness.type("slow", handler: "sleep", timeout: 1)
        let created = try await self.harness.create(type: type, payload: ["ms": "20000"], timeout: 1)
        let started = ContinuousClock.now
        let task = try await self.harness.waitForStatus(created.taskID, [.timeout])
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        XCTAssertEqual(task.error, "timed out after 1 s")
        let harness = self.harness!
        let freed = try await TestEnvironment.waitUntil(timeout: .seconds(2)) { harness.worker.runningCount == 0 }
        XCTAssertTrue(freed)
    }

    func testCancelAbortsARunningTaskWithinASecond() async throws {
        let type = try await self.harness.type("long", handler: "sleep")
        let created = try await self.harness.create(type: type, payload: ["ms": "30000"])
        _ = try await self.harness.waitForStatus(created.taskID, [.running])
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
        _ = try await self.harness.waitForStatus(created.taskID, [.running])
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
        let mine = try await harness.base.inspector.count(.cancels(harness.worker.configuration.workerID))
        XCTAssertEqual(mine, 0, "this worker read its own signal")
        let theirs = try await harness.base.inspector.count(.cancels("another-worker"))
        XCTAssertEqual(theirs, 2000, "the other worker's signals are its own")
    }

    func testCapacityBoundsExecutorCallsNeverExceeded() async throws {
        let calls = ConcurrentCalls()
        self.harness.registry.register("counted_sleep") { _, _ in
            calls.enter()
            defer { calls.leave() }
            try await Task.sleep(for: .milliseconds(150))
            return "ok"
        }
        let type = try await self.harness.type("busy", handler: "counted_sleep")
        for _ in 0..<9 { _ = try await self.harness.create(type: type) }
        let harness = self.harness!
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(20), every: .milliseconds(20)) {
            let rows = try await harness.base.mysql.query(
                "SELECT COUNT(*) AS finished FROM task WHERE task_type = ? AND status = ?",
                [.string(type), .int(Int64(TaskStatus.succeeded.rawValue))]
            )
            return rows.first?.int("finished") == 9
        }
        XCTAssertTrue(done)
        XCTAssertEqual(calls.total, 9)
        XCTAssertLessThanOrEqual(calls.peak, 3, "capacity is executor calls at once")
        XCTAssertGreaterThanOrEqual(calls.peak, 2)
    }

    /// A slot means an execution: outcomes stuck in their write hold no
    /// slot, so the next tasks run meanwhile; they land once the lock goes.
    /// (The lock is on the finished-task counts, which an outcome's
    /// transaction updates and a create or a start never touches. Tasks are
    /// created before any outcome waits: a waiting outcome transaction
    /// holds back inserts of newer task ids.)
    func testASlotFreesWhenTheExecutorReturnsNotWhenTheOutcomeIsWritten() async throws {
        let calls = ConcurrentCalls()
        self.harness.registry.register("counted") { _, _ in
            calls.enter()
            calls.leave()
            return "ok"
        }
        let slow = try await self.harness.type("held", handler: "sleep")
        let fast = try await self.harness.type("counted", handler: "counted")
        let first = try await self.harness.create(type: slow, payload: ["ms": "1500"])
        _ = try await self.harness.waitForStatus(first.taskID, [.running])
        // The lock lasts four seconds whatever happens to the test.
        let holder = try await self.harness.base.holdFinishedCounts(for: .seconds(4))
        let harness = self.harness!
        var ids: [String] = []
        for _ in 0..<6 { ids.append(try await self.harness.create(type: fast).taskID) }
        // Capacity 3, one slot in a 1.5 s call: with slots held until the
        // outcome is written, two of these would run and hold the other two.
        let ranMeanwhile = try await TestEnvironment.waitUntil(timeout: .seconds(2)) { calls.total == 6 }
        XCTAssertTrue(ranMeanwhile, "\(calls.total) of 6 ran while their outcomes waited for their write (capacity 3)")
        // Its start was never written either (a call shorter than the deferred-start window).
        let notWritten = try await harness.task(ids[0])
        XCTAssertFalse(notWritten.status.isTerminal, "its outcome is not written yet: \(notWritten.status)")
        try await holder.value
        _ = try await self.harness.waitForStatus(first.taskID, [.succeeded])
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            let rows = try await harness.base.mysql.query(
                "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(fast), .int(Int64(TaskStatus.succeeded.rawValue))]
            )
            return rows.first?.int("n") == 6
        }
        XCTAssertTrue(done)
        XCTAssertEqual(calls.total, 6, "each ran once")
    }

    /// Instant tasks: the worker asks for many more than its three slots
    /// (its window), so its executors never wait for the leader.
    func testTheWindowGrowsForInstantTasks() async throws {
        let type = try await self.harness.type("instant", handler: "noop")
        for _ in 0..<300 { _ = try await self.harness.create(type: type) }
        let harness = self.harness!
        let workerID = harness.worker.configuration.workerID
        let grew = try await TestEnvironment.waitUntil(timeout: .seconds(20)) {
            Int(try await harness.base.inspector.workerField(workerID, "window") ?? "") ?? 0 >= 30
        }
        let published = try await harness.base.inspector.workerField(workerID, "window") ?? "none"
        XCTAssertTrue(grew, "window \(published), worker estimate \(harness.worker.window)")
    }

    /// Failures with 1 MB messages beside small tasks: every task is
    /// recorded once, every log line is written, the long ones capped.
    func testHugeFailureMessagesFailNoOtherTasksWrites() async throws {
        let megabyte = String(repeating: "e", count: 1 << 20)
        self.harness.registry.register("huge_failure") { _, _ in throw ExecutionFailure(megabyte, retryable: false) }
        let huge = try await self.harness.type("huge", handler: "huge_failure")
        let small = try await self.harness.type("small", handler: "noop")
        var hugeIDs: [String] = []
        var smallIDs: [String] = []
        for _ in 0..<60 {
            hugeIDs.append(try await self.harness.create(type: huge).taskID)
            smallIDs.append(try await self.harness.create(type: small).taskID)
        }
        let harness = self.harness!
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(60)) {
            let rows = try await harness.base.mysql.query(
                "SELECT COUNT(*) AS n FROM task WHERE task_type IN (?, ?) AND status IN (?, ?)",
                [.string(huge), .string(small), .int(Int64(TaskStatus.failed.rawValue)), .int(Int64(TaskStatus.succeeded.rawValue))]
            )
            return rows.first?.int("n") == 120
        }
        XCTAssertTrue(done)
        // Each recorded once: one attempt, and its outcome as the worker saw it.
        let attempts = try await harness.base.mysql.query(
            "SELECT task_type, attempt, status FROM task WHERE task_type IN (?, ?)", [.string(huge), .string(small)]
        )
        XCTAssertEqual(attempts.filter { $0.int("attempt") == 1 }.count, 120)
        XCTAssertEqual(attempts.filter { $0.string("task_type") == small && $0.int("status") == TaskStatus.succeeded.rawValue }.count, 60)
        let logged = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            for id in hugeIDs where try await harness.logs(id).count < 2 { return false }
            return true
        }
        XCTAssertTrue(logged, "every failed task's start and end lines are written")
        for id in smallIDs.prefix(5) {
            let lines = try await harness.logs(id)
            XCTAssertEqual(lines, [], "a plain success writes none")
        }
        let failure = try await harness.logs(hugeIDs[0]).last ?? ""
        XCTAssertLessThan(failure.utf8.count, (64 << 10) + 100)
        XCTAssertTrue(failure.hasSuffix("…(truncated)"))
    }

    func testConfigChangeTakesEffectWithoutRestart() async throws {
        self.harness.registry.register("variant_a") { _, _ in "A" }
        self.harness.registry.register("variant_b") { _, _ in "B" }
        let type = try await self.harness.type("variant", handler: "variant_a")
        let first = try await self.harness.create(type: type)
        let a = try await self.harness.waitForStatus(first.taskID, [.succeeded])
        XCTAssertEqual(a.result, "A")
        _ = try await self.harness.type("variant", handler: "variant_b")
        try await self.harness.base.broker.publish([.configChanged(taskType: type)])
        let harness = self.harness!
        let switched = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
            try await harness.cache.config(type)?.endpoint == "variant_b"
        }
        XCTAssertTrue(switched)
        let second = try await self.harness.create(type: type)
        let b = try await self.harness.waitForStatus(second.taskID, [.succeeded])
        XCTAssertEqual(b.result, "B")
    }

    func testGracefulStopHandsBackUnfinishedWork() async throws {
        let type = try await self.harness.type("handback", handler: "sleep")
        let created = try await self.harness.create(type: type, payload: ["ms": "20000"])
        _ = try await self.harness.waitForStatus(created.taskID, [.running])
        let stopped = ContinuousClock.now
        await self.harness.stopWorker()
        XCTAssertLessThan(ContinuousClock.now - stopped, .seconds(3))
        let task = try await self.harness.task(created.taskID)
        XCTAssertEqual(task.status, .queued)
        XCTAssertEqual(task.attempt, 0)
        // Back on the queue, or already dispatched again to a worker queue; not in flight.
        let queue = try await self.harness.base.inspector.members(.queue(.normal)) + self.harness.base.inspector.members(.workerQueue(self.harness.worker.configuration.workerID, .normal))
        XCTAssertTrue(queue.contains(QueueEntry(task).member), "\(queue)")
        let inFlight = try await self.harness.base.inspector.members(.inFlight(self.harness.worker.configuration.workerID))
        XCTAssertEqual(inFlight, [])
        let registered = try await self.harness.base.inspector.score(of: self.harness.worker.configuration.workerID, in: .workers)
        XCTAssertNil(registered)
    }
}

extension WorkerTests {
    /// A graceful stop while both loops are in start writes (rows locked
    /// here): the main loop on a normal task for a second, the lane on a high
    /// one for three, whose lock holder cancels it, so that start finds
    /// nothing to run and acknowledges the entry. When the stop returns the
    /// normal attempt is handed back unspent, the acknowledgement is sent,
    /// nothing stays in flight and the worker has left the registry. (The
    /// stop waits for the lane's loop to end before it counts what is held.
    /// Here the hand-back of the normal attempt also waits for the high
    /// row's holder in MariaDB, so this test passes without that wait too: it
    /// checks the outcome, not the race.)
    func testAGracefulStopWaitsForTheHighLanesStart() async throws {
        let type = try await self.harness.type("lane-stop", handler: "sleep")
        let harness = self.harness!
        let keys = harness.base.keys
        let workerID = harness.worker.configuration.workerID
        func taken(_ id: String) async throws -> Bool {
            try await TestEnvironment.waitUntil(timeout: .seconds(2)) {
                try await harness.base.inspector.entries(.inFlight(workerID)).contains { $0.taskID == id }
            }
        }
        let normal = try await harness.create(type: type, payload: ["ms": "20000"], enqueue: false)
        let normalHolder = try await harness.base.holdTask(normal.taskID, for: .seconds(1))
        try await harness.base.broker.enqueue([normal])
        let mainLoopHeld = try await taken(normal.taskID)
        XCTAssertTrue(mainLoopHeld, "the main loop took the normal task")
        let high = try await harness.create(type: type, payload: ["ms": "20000"], priority: .high, enqueue: false)
        let highHolder = try await harness.base.holdTask(high.taskID, for: .seconds(3), cancelling: true)
        try await harness.base.broker.enqueue([high])
        let laneHeld = try await taken(high.taskID)
        XCTAssertTrue(laneHeld, "the lane took the high task")
        await harness.stopWorker()
        try await normalHolder.value
        try await highHolder.value
        let inFlight = try await harness.base.inspector.members(.inFlight(workerID))
        XCTAssertEqual(inFlight, [], "nothing left in flight when the stop returned")
        let registered = try await harness.base.inspector.score(of: workerID, in: .workers)
        XCTAssertNil(registered)
        let cancelled = try await harness.task(high.taskID)
        XCTAssertEqual(cancelled.status, .cancelled)
        XCTAssertEqual(cancelled.attempt, 0, "it never started")
        let handedBack = try await harness.task(normal.taskID)
        XCTAssertEqual(handedBack.status, .queued)
        XCTAssertEqual(handedBack.attempt, 0, "handed back unspent")
    }
}

/// Executor calls under way at once, and their peak.
private final class ConcurrentCalls: Sendable {
    private let state = Mutex((now: 0, peak: 0, total: 0))
    func enter() { self.state.withLock { $0.now += 1; $0.total += 1; $0.peak = max($0.peak, $0.now) } }
    func leave() { self.state.withLock { $0.now -= 1 } }
    var peak: Int { self.state.withLock { $0.peak } }
    var total: Int { self.state.withLock { $0.total } }
}

final class TaskMetricsTests: XCTestCase {
    /// Each outcome's counter is found at its place in `allCases`.
    func testOutcomeIndexesFollowAllCases() {
        XCTAssertEqual(TaskMetrics.Outcome.allCases.map(\.index), Array(TaskMetrics.Outcome.allCases.indices))
    }
}

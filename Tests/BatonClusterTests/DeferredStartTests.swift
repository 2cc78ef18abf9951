import BatonBroker
import BatonModel
import BatonMySQL
import BatonStore
import BatonTestSupport
import BatonWorker
import Foundation
import Synchronization
import XCTest

/// The deferred start (docs/deferred-start.md), each guarantee broken on
/// purpose: an attempt begins on a read and its worker's claim in Redis;
/// its start is written only once it outlasts the window (here 600 ms), else
/// its outcome write records it.
final class DeferredStartTests: XCTestCase {
    private var harness: WorkerHarness!
    private let calls = CalledTasks()

    override func setUp() async throws {
        self.harness = try await WorkerHarness(capacity: 4, startWriteAfter: .milliseconds(600))
        self.harness.registry.register("counted", Self.counted(self.calls))
    }

    override func tearDown() async throws { try await self.harness.shutdown() }

    /// Records each call, then sleeps `ms` (cancellable).
    private static func counted(_ calls: CalledTasks) -> LocalExecutor.Handler {
        { context, payload in
            calls.called(context.taskID)
            try await Task.sleep(for: .milliseconds(Int(payload["ms"] ?? "") ?? 0))
            return "ok"
        }
    }

    /// A task of a 20 s call, once its call began (its start unwritten within the window).
    private func calledLongTask(_ name: String) async throws -> TaskRecord {
        let type = try await self.harness.type(name, handler: "counted")
        let created = try await self.harness.create(type: type, payload: ["ms": "20000"])
        let called = try await TestEnvironment.waitUntil(timeout: .seconds(3)) { self.calls.count(created.taskID) == 1 }
        XCTAssertTrue(called)
        return created
    }

    /// True once the worker holds nothing in flight (what it ran is settled), within 3 s.
    private func inFlightDrained() async throws -> Bool {
        let harness = self.harness!
        return try await TestEnvironment.waitUntil(timeout: .seconds(3)) {
            try await harness.base.inspector.count(.inFlight(harness.worker.configuration.workerID)) == 0
        }
    }

    /// A call shorter than the window: its row reads waiting while it runs
    /// (its claim says who runs it), then one write records start and outcome.
    func testAShortAttemptWritesItsStartWithItsOutcome() async throws {
        let type = try await self.harness.type("short", handler: "counted")
        let harness = self.harness!
        let workerID = harness.worker.configuration.workerID
        let created = try await harness.create(type: type, payload: ["ms": "300"])
        let claimed = try await TestEnvironment.waitUntil(timeout: .seconds(3)) { try await harness.base.broker.claims([created.taskID])[created.taskID] != nil }
        XCTAssertTrue(claimed)
        let claim = try await harness.base.broker.claims([created.taskID])[created.taskID]
        XCTAssertEqual(claim?.workerID, workerID)
        XCTAssertEqual(claim?.generation, 0)
        let during = try await harness.task(created.taskID)
        XCTAssertTrue([.queued, .scheduled].contains(during.status), "no start write within the window: \(during.status)")
        XCTAssertEqual(during.attempt, 0)
        let done = try await harness.waitForStatus(created.taskID, [.succeeded])
        XCTAssertEqual(done.attempt, 1)
        XCTAssertEqual(done.workerID, workerID)
        let started = try XCTUnwrap(done.startedAt)
        XCTAssertLessThan(started, try XCTUnwrap(done.finishedAt))
        XCTAssertLessThan(abs(started.timeIntervalSince(try XCTUnwrap(claim?.startedAt))), 1, "the attempt's start, not its end")
        let released = try await TestEnvironment.waitUntil { try await harness.base.broker.claims([created.taskID]).isEmpty }
        XCTAssertTrue(released, "the ack drops the claim")
        XCTAssertEqual(self.calls.count(created.taskID), 1)
    }

    /// A call that outlasts the window gets its start written and reads
    /// RUNNING in MySQL from then on (the timeout recovery and lists see it).
    func testAnAttemptOutlastingTheWindowReadsRunning() async throws {
        let type = try await self.harness.type("long", handler: "counted")
        let harness = self.harness!
        let created = try await harness.create(type: type, payload: ["ms": "2000"])
        let running = try await harness.waitForStatus(created.taskID, [.running], timeout: .seconds(3))
        XCTAssertEqual(running.status, .running)
        XCTAssertEqual(running.attempt, 1)
        XCTAssertEqual(running.workerID, harness.worker.configuration.workerID)
        let done = try await harness.waitForStatus(created.taskID, [.succeeded], timeout: .seconds(5))
        XCTAssertEqual(done.attempt, 1)
        XCTAssertEqual(running.startedAt, done.startedAt, "one start, written once")
        XCTAssertEqual(self.calls.count(created.taskID), 1)
    }

    /// The same entry on two workers' queues, and twice on one: the claim
    /// lets one copy run; the others are dropped as acknowledged (their
    /// type's slots freed), while the first still runs, its start unwritten.
    func testTheSameEntryOnTwoWorkersRunsOnce() async throws {
        let type = try await self.harness.type("twice", handler: "counted")
        let harness = self.harness!
        let other = ExecutorRegistry()
        other.register("counted", Self.counted(self.calls))
        let second = try await harness.anotherWorker(nodeID: "other", workerID: "\(harness.base.prefix)-other", capacity: 4, registry: other)
        defer { Task { await second.stop() } }
        var ids: [String] = []
        for _ in 0..<20 {
            let task = try await harness.create(type: type, payload: ["ms": "200"], enqueue: false)
            let member = QueueEntry(task).member
            try await harness.base.inspector.addInUse(type, 3)
            try await harness.base.inspector.push([member], onto: .workerQueue(harness.worker.configuration.workerID, .normal))
            try await harness.base.inspector.push([member, member], onto: .workerQueue("\(harness.base.prefix)-other", .normal))
            ids.append(task.taskID)
        }
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(20)) {
            try await ids.asyncAllSatisfy { try await harness.task($0).status == .succeeded }
        }
        XCTAssertTrue(done)
        for id in ids {
            XCTAssertEqual(self.calls.count(id), 1, "\(id) ran once")
            let row = try await harness.task(id)
            XCTAssertEqual(row.attempt, 1)
        }
        let freed = try await TestEnvironment.waitUntil { try await harness.base.inspector.inUse(type) == 0 }
        let inUse = try await harness.base.inspector.inUse(type)
        XCTAssertTrue(freed, "every copy freed its slot: \(inUse)")
    }

    /// Cancels racing takes, many times: a task the cancel says never began
    /// (attempt 0) was never called, and none was called twice.
    func testACancelRacingATakeNeverAnswersNotStartedForATaskThatRan() async throws {
        let type = try await self.harness.type("race", handler: "counted")
        let harness = self.harness!
        var tasks: [TaskRecord] = []
        for _ in 0..<150 { tasks.append(try await harness.create(type: type, payload: ["ms": "30"], enqueue: false)) }
        try await harness.base.broker.enqueue(tasks)
        let answered = AnsweredAttempts()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, task) in tasks.enumerated() {
                group.addTask {
                    try await Task.sleep(for: .milliseconds(index % 40))
                    // As CancelTask does: the claims read and the others held, the row, then the signal.
                    let claim = try await harness.base.broker.holdForCancel([task.taskID])[task.taskID]
                    let running = claim.map { UnwrittenStart(taskID: task.taskID, generation: $0.generation, workerID: $0.workerID, startedAt: $0.startedAt) }
                    let (row, cancelled) = try await harness.base.tasks.cancel(task.taskID, reason: "race", now: Date(), running: running)
                    try await harness.base.broker.releaseCancelHolds([task.taskID])
                    if cancelled, let row {
                        answered.set(task.taskID, row.attempt)
                        try await harness.base.broker.cancel(row)
                    }
                }
            }
            try await group.waitForAll()
        }
        let settled = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            try await harness.base.inspector.count(.inFlight(harness.worker.configuration.workerID)) == 0
        }
        XCTAssertTrue(settled)
        try await Task.sleep(for: .milliseconds(300))
        var cancelledUnstarted = 0
        for task in tasks {
            let row = try await harness.task(task.taskID)
            XCTAssertLessThanOrEqual(self.calls.count(task.taskID), 1, "\(task.taskID) ran twice")
            if let attempt = answered.attempt(task.taskID), attempt == 0 {
                cancelledUnstarted += 1
                XCTAssertEqual(self.calls.count(task.taskID), 0, "\(task.taskID): the cancel answered it had not started, yet it ran")
                XCTAssertEqual(row.attempt, 0)
            }
            // A claim taken just before the cancel whose read then found the
            // row cancelled counts an attempt that never called: over, never under.
            if row.status == .cancelled {
                XCTAssertGreaterThanOrEqual(row.attempt, self.calls.count(task.taskID), "\(task.taskID): the row counts what ran")
            }
            if row.status == .succeeded { XCTAssertEqual(row.attempt, 1) }
        }
        XCTAssertGreaterThan(cancelledUnstarted, 0, "some cancels came before the take")
    }

    /// A cancel of an attempt that runs unwritten stops it and counts it
    /// (attempt 1 on its worker); the window's start write then finds the
    /// row ended and writes nothing.
    func testACancelOfAnUnwrittenAttemptStopsAndCountsIt() async throws {
        let harness = self.harness!
        let created = try await self.calledLongTask("stop")
        let claims = try await harness.base.broker.claims([created.taskID])
        let claim = try XCTUnwrap(claims[created.taskID])
        let running = UnwrittenStart(taskID: created.taskID, generation: claim.generation, workerID: claim.workerID, startedAt: claim.startedAt)
        let (row, cancelled) = try await harness.base.tasks.cancel(created.taskID, reason: "stop", now: Date(), running: running)
        XCTAssertTrue(cancelled)
        XCTAssertEqual(row?.attempt, 1, "the cancel counts the attempt that runs")
        XCTAssertEqual(row?.workerID, claim.workerID)
        let cancelledRow = try XCTUnwrap(row)
        try await harness.base.broker.cancel(cancelledRow)
        let stopped = try await self.inFlightDrained()
        XCTAssertTrue(stopped, "the attempt was stopped and acknowledged")
        try await Task.sleep(for: .milliseconds(800))
        let after = try await harness.task(created.taskID)
        XCTAssertEqual(after.status, .cancelled)
        XCTAssertEqual(after.attempt, 1)
    }

    /// A cancel that reaches MySQL only (its signal lost with Redis): the
    /// window's start write finds the row ended and stops the attempt, and
    /// the worker counts it on the row.
    func testTheWindowsStartWriteStopsAnAttemptWhoseTaskWasCancelled() async throws {
        let harness = self.harness!
        let created = try await self.calledLongTask("nosignal")
        let (_, cancelled) = try await harness.base.tasks.cancel(created.taskID, reason: "no signal", now: Date())
        XCTAssertTrue(cancelled)
        let stopped = try await self.inFlightDrained()
        XCTAssertTrue(stopped, "stopped at the window, without a notice")
        let counted = try await TestEnvironment.waitUntil(timeout: .seconds(2)) { try await harness.task(created.taskID).attempt == 1 }
        XCTAssertTrue(counted, "the row says the attempt began")
        let final = try await harness.task(created.taskID)
        XCTAssertEqual(final.status, .cancelled)
    }

    /// A worker fenced in MySQL while its attempt runs unwritten (the leader
    /// declared it dead; it has not heard yet): the window's start write is
    /// refused and the attempt stops as fenced, not as cancelled: nothing of
    /// it is recorded or acknowledged (its entry is the leader's to reclaim).
    func testTheWindowsStartWriteStopsAFencedWorkersAttemptAsFenced() async throws {
        let harness = self.harness!
        let created = try await self.calledLongTask("fenced")
        try await harness.base.tasks.fenceWorker(harness.worker.configuration.workerID, cluster: harness.base.broker.cluster, now: Date())
        try await Task.sleep(for: .milliseconds(1_500))
        let inFlight = try await harness.base.inspector.count(.inFlight(harness.worker.configuration.workerID))
        XCTAssertEqual(inFlight, 1, "a fenced attempt acknowledges nothing")
        let row = try await harness.task(created.taskID)
        XCTAssertTrue([.queued, .scheduled].contains(row.status), "\(row.status)")
        XCTAssertEqual(row.attempt, 0, "nothing of the attempt was recorded")
        let lines = try await harness.base.tasks.logs(created.taskID, afterID: 0, limit: 100).map(\.message)
        XCTAssertFalse(lines.contains { $0.contains("cancelled") }, "reported as a cancel: \(lines)")
    }
}

/// The store's side, without a worker: the read refuses what a start write
/// would; an outcome lands on a waiting row only for its attempt and
/// generation and only while the worker is not fenced; a worker's loss
/// counts on its unwritten attempts.
final class DeferredStartStoreTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private func waiting(generation: Int = 0, type: String? = nil) async throws -> TaskRecord {
        let now = Date().roundedToMicroseconds
        var task = TaskRecord(
            taskID: TaskID.make(), taskType: type ?? "\(self.harness.prefix)_t", priority: .normal, payload: [:], status: .queued, maxRetries: 0, timeoutSeconds: 30,
            createdAt: now, updatedAt: now
        )
        try await self.harness.tasks.insert([task])
        if generation > 0 {
            task.generation = generation
            try await self.harness.mysql.execute("UPDATE task SET generation = ? WHERE task_id = ?", [.int(Int64(generation)), .string(task.taskID)])
        }
        return task
    }

    private func outcome(_ task: TaskRecord, status: TaskStatus = .succeeded, attempt: Int = 1, generation: Int = 0, startedAt: Date) -> FinishedAttempt {
        FinishedAttempt(taskID: task.taskID, attempt: attempt, status: status, result: "ok", tenant: task.tenant, generation: generation, startedAt: startedAt)
    }

    func testTheStartReadRefusesWhatAStartWriteWould() async throws {
        let store = self.harness.tasks
        let fresh = try await self.waiting()
        let stale = try await self.waiting(generation: 2)
        let ended = try await self.waiting()
        _ = try await store.cancel(ended.taskID, reason: "gone", now: Date())
        let now = Date().roundedToMicroseconds
        let read = try await store.startable([(fresh.taskID, 0), (stale.taskID, 1), (ended.taskID, 0)], workerID: "w1", cluster: "c", now: now)
        XCTAssertEqual(read.map(\.taskID), [fresh.taskID])
        XCTAssertEqual(read.first?.status, .running)
        XCTAssertEqual(read.first?.attempt, 1)
        XCTAssertEqual(read.first?.startedAt, now)
        // Entries of one generation are read at it: the stale row is not.
        let shared = try await store.startable([(fresh.taskID, 0), (stale.taskID, 0)], workerID: "w1", cluster: "c", now: now)
        XCTAssertEqual(shared.map(\.taskID), [fresh.taskID])
        // Entries of one task at two generations: the row's own is read, once.
        let both = try await store.startable([(stale.taskID, 1), (stale.taskID, 2), (stale.taskID, 3)], workerID: "w1", cluster: "c", now: now)
        XCTAssertEqual(both.map(\.taskID), [stale.taskID])
        XCTAssertEqual(both.first?.generation, 2)
        let row = try await store.task(fresh.taskID)
        XCTAssertEqual(row?.status, .queued, "a read: the row is as it was")
        try await store.fenceWorker("w2", cluster: "c", now: Date())
        let fenced = try await store.startable([(fresh.taskID, 0)], workerID: "w2", cluster: "c", now: now)
        XCTAssertEqual(fenced, [], "nothing for a fenced worker")
        // A paused type: the read refuses it; an attempt that began before
        // the pause keeps running, and its window write lands (no pause check).
        let pausedType = try await self.harness.type("paused")
        _ = try await self.harness.configs.setPaused(pausedType, true, now: Date().roundedToMicroseconds)
        let paused = try await self.waiting(type: pausedType)
        let refused = try await store.startable([(paused.taskID, 0)], workerID: "w1", cluster: "c", now: now)
        XCTAssertEqual(refused, [], "nothing of a paused type starts")
        let written = try await store.start([(paused.taskID, 0)], workerID: "w1", cluster: "c", now: now, checksPause: false)
        XCTAssertEqual(written.map(\.taskID), [paused.taskID], "what runs has its start written")
    }

    func testAnOutcomeLandsOnAWaitingRowOnlyForItsAttemptAndGeneration() async throws {
        let store = self.harness.tasks
        let task = try await self.waiting()
        let started = Date().addingTimeInterval(-0.1).roundedToMicroseconds
        var applied = try await store.recordWorkerOutcomes([self.outcome(task, attempt: 2, startedAt: started)], workerID: "w1", cluster: "c", now: Date())
        XCTAssertEqual(applied.applied, [], "not the attempt the row waits for")
        applied = try await store.recordWorkerOutcomes([self.outcome(task, generation: 1, startedAt: started)], workerID: "w1", cluster: "c", now: Date())
        XCTAssertEqual(applied.applied, [], "an entry of another generation")
        applied = try await store.recordWorkerOutcomes([self.outcome(task, startedAt: started)], workerID: "w1", cluster: "c", now: Date().roundedToMicroseconds)
        XCTAssertEqual(applied.applied, [task.taskID])
        let stored = try await store.task(task.taskID)
        let row = try XCTUnwrap(stored)
        XCTAssertEqual(row.status, .succeeded)
        XCTAssertEqual(row.attempt, 1)
        XCTAssertEqual(row.workerID, "w1")
        XCTAssertEqual(row.startedAt, started, "the start the outcome carried")
        applied = try await store.recordWorkerOutcomes([self.outcome(task, startedAt: started)], workerID: "w2", cluster: "c", now: Date())
        XCTAssertEqual(applied.applied, [], "a second copy's outcome never lands")
    }

    func testAFencedWorkersUnwrittenAttemptDoesNotLand() async throws {
        let store = self.harness.tasks
        let task = try await self.waiting()
        try await store.fenceWorker("dead", cluster: "c", now: Date())
        let applied = try await store.recordWorkerOutcomes([self.outcome(task, startedAt: Date())], workerID: "dead", cluster: "c", now: Date())
        XCTAssertEqual(applied.applied, [])
        let row = try await store.task(task.taskID)
        XCTAssertEqual(row?.status, .queued)
        XCTAssertEqual(row?.attempt, 0)
        let other = try await store.recordWorkerOutcomes([self.outcome(task, startedAt: Date())], workerID: "alive", cluster: "c", now: Date())
        XCTAssertEqual(other.applied, [task.taskID], "another worker's lands")
    }

    /// A task that kills its worker within the window still reaches the cap.
    func testAWorkerLostDuringUnwrittenAttemptsCountsTheLoss() async throws {
        let store = self.harness.tasks
        let task = try await self.waiting()
        for round in 1...3 {
            let (failed, _) = try await store.recordWorkerLoss([(task.taskID, 0)], workerID: "w\(round)", cap: 3, now: Date(), fence: nil)
            let stored = try await store.task(task.taskID)
            let row = try XCTUnwrap(stored)
            XCTAssertEqual(row.workerLosses, round)
            XCTAssertEqual(row.status, round < 3 ? .queued : .failed)
            XCTAssertEqual(failed, round < 3 ? [] : [task.taskID])
        }
        let stale = try await self.waiting(generation: 1)
        _ = try await store.recordWorkerLoss([(stale.taskID, 0)], workerID: "w", cap: 3, now: Date(), fence: nil)
        let untouched = try await store.task(stale.taskID)
        XCTAssertEqual(untouched?.workerLosses, 0, "an entry of an older generation is not the row's attempt")
    }
}

/// What each cancel answered: the task's attempt.
final class AnsweredAttempts: Sendable {
    private let answers = Mutex<[String: Int]>([:])
    func set(_ taskID: String, _ attempt: Int) { self.answers.withLock { $0[taskID] = attempt } }
    func attempt(_ taskID: String) -> Int? { self.answers.withLock { $0[taskID] } }
}

/// Task ids and how many times each was called.
final class CalledTasks: Sendable {
    private let calls = Mutex<[String: Int]>([:])
    func called(_ taskID: String) { self.calls.withLock { $0[taskID, default: 0] += 1 } }
    func count(_ taskID: String) -> Int { self.calls.withLock { $0[taskID, default: 0] } }
}

extension Array where Element: Sendable {
    fileprivate func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await !predicate(element) { return false }
        return true
    }
}

import BatonBroker
import BatonModel
import BatonMySQL
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// Pause and resume converge (issue 26, items 2 and 3): a resume whose
/// Redis half failed never strands a parked backlog, the leader's copy of
/// the limits never goes back to an older pause, and a paused type starts
/// nothing new once the pause returned, even what workers already hold.
final class PauseResumeTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// What PauseTaskType / ResumeTaskType write: MySQL, then Redis (unless `redis` is false: that half failed).
    @discardableResult
    private func setPaused(_ type: String, _ paused: Bool, redis: Bool = true) async throws -> TaskConfigRecord {
        let record = try await self.harness.configs.setPaused(type, paused, now: Date().roundedToMicroseconds)!
        if redis {
            try await self.harness.broker.setLimits(TypeLimits(record))
            if !paused { try await self.harness.broker.unpark(type) }
        }
        return record
    }

    /// Before: ResumeTaskType wrote MySQL, then Redis failed before the
    /// unpark: the type read resumed while its backlog stayed parked for good.
    func testTheLeaderGivesBackAResumedTypesParkedBacklog() async throws {
        let type = try await self.harness.type("stranded")
        let created = try await self.harness.create(50, type: type)
        try await self.setPaused(type, true)
        try await self.harness.registerWorker("w1", capacity: 1000)
        let term = try await self.harness.lead()
        let dispatcher = self.harness.dispatcher()
        try await dispatcher.dispatchOnce(term: term)
        let parkedBefore = try await self.harness.inspector.members(.parked(type)).count
        XCTAssertEqual(parkedBefore, 50, "parked")
        // Resumed in MySQL only: its node lost Redis right after.
        try await self.setPaused(type, false, redis: false)
        try await dispatcher.syncLimits()
        let parkedAfter = try await self.harness.inspector.members(.parked(type)).count
        XCTAssertEqual(parkedAfter, 0, "still parked after the leader's sync")
        for _ in 0..<3 { try await dispatcher.dispatchOnce(term: term) }
        let dispatched = try await self.harness.inspector.waitingOn(worker: "w1").map(\.taskID)
        XCTAssertEqual(dispatched, created.map(\.taskID), "all dispatched, in their order")
    }

    /// Before: the leader's copy, read before a resume and written after it,
    /// paused the type again in Redis (and later entries parked with nobody to unpark them).
    func testAStaleCopyNeverTakesAPauseBack() async throws {
        let type = try await self.harness.type("versioned")
        let pausedRecord = try await self.setPaused(type, true)
        let resumedRecord = try await self.setPaused(type, false)
        XCTAssertGreaterThan(resumedRecord.limitsVersion, pausedRecord.limitsVersion)
        // The leader's copy read while the type was paused lands now.
        try await self.harness.broker.replaceLimits([TypeLimits(pausedRecord)])
        let value = try await self.harness.inspector.limits(type)
        XCTAssertEqual(value, TypeLimits(resumedRecord).value, "a stale copy took the pause back")
        try await self.harness.registerWorker("w1", capacity: 10)
        _ = try await self.harness.create(3, type: type)
        let term = try await self.harness.lead()
        try await self.harness.dispatcher().dispatchOnce(term: term)
        let dispatched = try await self.harness.inspector.waitingOn(worker: "w1").count
        XCTAssertEqual(dispatched, 3, "dispatched, not parked")
        // A re-created type's version is above whatever the old one left.
        try await self.harness.configs.put(
            TaskConfigRecord(taskType: type, executor: .local, endpoint: "noop", timeoutSeconds: 30, maxRetries: 0, retryBackoffMs: 100)
        )
        let again = try await self.harness.configs.config(type)!
        XCTAssertGreaterThan(again.limitsVersion, resumedRecord.limitsVersion)
    }

    /// An entry a worker holds (on its queue, or taken) when the pause
    /// returns never starts: the start write refuses a paused type, and the
    /// worker puts the entry back, where the dispatcher parks it.
    func testAPausedTypeStartsNothingWorkersAlreadyHold() async throws {
        let type = try await self.harness.type("held")
        let created = try await self.harness.create(5, type: type)
        try await self.harness.registerWorker("w1", capacity: 10)
        let term = try await self.harness.lead()
        try await self.harness.dispatcher().dispatchOnce(term: term)
        let taken = try await self.harness.broker.take(workerID: "w1", count: 5)
        XCTAssertEqual(taken.count, 5)
        try await self.setPaused(type, true)
        let claims = taken.map { ($0.taskID, $0.generation) }
        let started = try await self.harness.tasks.start(claims, workerID: "w1", cluster: self.harness.broker.cluster, now: Date().roundedToMicroseconds)
        XCTAssertEqual(started, [], "a paused type's task started")
        let waiting = try await self.harness.tasks.stillWaiting(claims)
        XCTAssertEqual(waiting, Set(created.map(\.taskID)), "they wait: handed back, not dropped")
        try await self.harness.broker.handBackInFlight(workerID: "w1", taken)
        try await self.harness.dispatcher().dispatchOnce(term: term)
        let parked = try await self.harness.inspector.entries(.parked(type)).map(\.taskID)
        XCTAssertEqual(parked, created.map(\.taskID), "parked in order")
        try await self.setPaused(type, false)
        let resumed = try await self.harness.tasks.start(claims, workerID: "w1", cluster: self.harness.broker.cluster, now: Date().roundedToMicroseconds)
        XCTAssertEqual(resumed.count, 5)
    }
}

/// The whole path (issue 26, item 3): a worker busy with a type's backlog,
/// holding a window of its entries, starts none of them once the pause
/// returned; the resume runs them all.
final class PauseHoldsWorkersTests: XCTestCase {
    private var harness: WorkerHarness!

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 4) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private func started(_ type: String) async throws -> Set<String> {
        Set(try await self.harness.base.mysql.query(
            "SELECT task_id FROM task WHERE task_type = ? AND attempt > 0", [.string(type)]
        ).compactMap { $0.string("task_id") })
    }

    /// Attempts whose start (the start read, on the cluster's clock) came after `time`.
    private func started(_ type: String, after time: Date) async throws -> Int {
        try await self.harness.base.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND started_at > ?", [.string(type), .date(time)]
        ).first?.int("n") ?? -1
    }

    func testNoAttemptStartsAfterThePauseReturned() async throws {
        let type = try await self.harness.type("backlog", handler: "sleep")
        let now = Date().roundedToMicroseconds
        let records = (0..<1500).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: ["ms": "2"], status: .queued,
                       maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now)
        }
        try await self.harness.base.tasks.insert(records)
        try await self.harness.base.broker.enqueue(records)
        let busy = try await TestEnvironment.waitUntil(timeout: .seconds(20)) { try await self.started(type).count >= 100 }
        XCTAssertTrue(busy)
        // What PauseTaskType does: MySQL, then Redis.
        let paused = try await self.harness.base.configs.setPaused(type, true, now: Date().roundedToMicroseconds)!
        try await self.harness.base.broker.setLimits(TypeLimits(paused))
        let returned = self.harness.base.broker.clock.now()
        let atReturn = try await self.started(type)
        XCTAssertLessThan(atReturn.count, records.count, "the backlog was not all started before the pause")
        try await Task.sleep(for: .milliseconds(1500))
        // An attempt that began before (its start read ahead of the pause's
        // commit) may record its start after, with its outcome; none began after.
        let later = try await self.started(type, after: returned)
        XCTAssertEqual(later, 0, "attempts started after the pause returned")
        // Resume: everything runs.
        let resumed = try await self.harness.base.configs.setPaused(type, false, now: Date().roundedToMicroseconds)!
        try await self.harness.base.broker.setLimits(TypeLimits(resumed))
        try await self.harness.base.broker.unpark(type)
        let all = try await TestEnvironment.waitUntil(timeout: .seconds(60)) {
            try await self.harness.base.mysql.query(
                "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(type), .int(Int64(TaskStatus.succeeded.rawValue))]
            ).first?.int("n") == records.count
        }
        XCTAssertTrue(all, "the resumed backlog ran")
    }
}

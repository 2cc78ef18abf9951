import BatonBroker
import BatonModel
import BatonRedis
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

final class RecoveryTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testDeadWorkersTasksAreRequeuedAndLossesCapped() async throws {
        let type = try await self.harness.type("dead")
        let created = try await self.harness.create(3, type: type)
        let term = try await self.harness.lead()
        var configuration = Dispatcher.Configuration()
        configuration.heartbeatTTL = .seconds(60)
        let dispatcher = Dispatcher(broker: self.harness.broker, tasks: self.harness.tasks, configs: self.harness.configs, configuration: configuration, logger: self.harness.logger)
        var recovery = DeadWorkerRecoverer.Configuration()
        recovery.heartbeatTTL = .seconds(9)
        recovery.maxWorkerLosses = 3
        let recoverer = DeadWorkerRecoverer(broker: self.harness.broker, tasks: self.harness.tasks, configuration: recovery, logger: self.harness.logger)

        for round in 1...3 {
            let worker = "doomed-\(round)"
            try await self.harness.registerWorker(worker, capacity: 10)
            try await dispatcher.dispatchOnce(term: term)
            // The worker starts the first task, then dies (its heartbeat stops).
            let first = try await self.harness.inspector.moveHead(from: .workerQueue(worker, .normal), to: .inFlight(worker))!
            let started = try await self.harness.tasks.start([QueueEntry(member: first)!.taskID], workerID: worker, now: Date().roundedToMicroseconds)
            XCTAssertEqual(started.first?.attempt, round)
            try await self.harness.age(worker: worker, by: 30)

            let reclaimed = try await recoverer.recoverOnce(term: term)
            XCTAssertEqual(reclaimed, [worker])
            let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
            // In-flight first, then the queued ones, in their order, at the front.
            XCTAssertEqual(queue, [created[0].taskID, created[1].taskID, created[2].taskID])
            let task = try await self.harness.tasks.task(created[0].taskID)!
            XCTAssertEqual(task.workerLosses, round)
            if round < 3 {
                XCTAssertEqual(task.status, .queued)
            } else {
                XCTAssertEqual(task.status, .failed)
                XCTAssertEqual(task.error, "worker lost 3 times")
            }
            let registered = try await self.harness.inspector.score(of: worker, in: .workers)
            XCTAssertNil(registered)
            let record = try await self.harness.inspector.hasWorkerRecord(worker)
            XCTAssertFalse(record)
        }
        // Retries were not spent: the type allows none, yet the task ran three times.
        let retriesLeft = RetryPolicy().retriesLeft(try await self.harness.tasks.task(created[1].taskID)!)
        XCTAssertTrue(retriesLeft)
    }

    func testEveryWaitingTaskIsBackAfterRedisLosesItsData() async throws {
        let type = try await self.harness.type("flush")
        let queued = try await self.harness.create(30, type: type)
        let high = try await self.harness.create(5, type: type, priority: .high)
        let later = try await self.harness.create(2, type: type, runAt: Date().addingTimeInterval(3600))
        let reconciler = Reconciler(broker: self.harness.broker, tasks: self.harness.tasks, logger: self.harness.logger)
        var term = try await self.harness.lead()
        _ = try await reconciler.reconcileOnce(term: term)  // sets the sentinel, nothing missing
        let before = try await self.harness.inspector.members(.queue(.normal)).count
        XCTAssertEqual(before, 30)

        // Redis restarts empty.
        try await self.harness.inspector.flushDatabase()
        term = try await self.harness.lead()
        _ = try await reconciler.reconcileOnce(term: term)
        let normal = Set(try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID))
        let highQueue = Set(try await self.harness.inspector.entries(.queue(.high)).map(\.taskID))
        let delayed = try await self.harness.inspector.count(.delayed)
        XCTAssertTrue(Set(queued.map(\.taskID)).isSubset(of: normal))
        XCTAssertEqual(highQueue, Set(high.map(\.taskID)))
        XCTAssertEqual(delayed, later.count)

        // A second pass adds nothing twice.
        _ = try await reconciler.restoreAll(term: term)
        let again = try await self.harness.inspector.members(.queue(.normal))
        XCTAssertEqual(again.count, Set(again).count)
    }

    /// An upgrade from a release whose keys had no hash tag (`ns:queue:normal`,
    /// not `{ns}:queue:normal`): the broker finds that release's state (a node
    /// then refuses to start), the operator deletes it with the documented
    /// pattern, which matches none of the tagged keys, and to the next leader
    /// Redis lost its data: the restore from MySQL puts every waiting task
    /// back under the new keys, each once.
    func testAnUpgradeToTaggedKeysFindsTheOldStateThenRestoresEveryWaitingTask() async throws {
        let type = try await self.harness.type("upgrade")
        let queued = try await self.harness.create(20, type: type)
        let high = try await self.harness.create(3, type: type, priority: .high)
        let later = try await self.harness.create(2, type: type, runAt: Date().addingTimeInterval(3600))
        let keys = self.harness.keys
        let reconciler = Reconciler(broker: self.harness.broker, tasks: self.harness.tasks, logger: self.harness.logger)
        var term = try await self.harness.lead()
        _ = try await reconciler.reconcileOnce(term: term)
        let none = try await self.harness.broker.untaggedState()
        XCTAssertEqual(none, [], "tagged keys are not the old release's")

        // What the previous release left: the same keys without the braces.
        let renamed = try await self.harness.inspector.renameToPreTagKeys()
        XCTAssertFalse(renamed.isEmpty)
        let found = try await self.harness.broker.untaggedState()
        XCTAssertEqual(Set(found), Set(keys.untaggedState.filter { !$0.hasSuffix(":workers") }), "all but workers (none registered here)")

        // The operator deletes them by the pattern the node names.
        let old = try await self.harness.inspector.preTagKeys()
        XCTAssertEqual(Set(old), Set(renamed))
        try await self.harness.inspector.delete(keys: old)
        let gone = try await self.harness.broker.untaggedState()
        XCTAssertEqual(gone, [])

        term = try await self.harness.lead()
        _ = try await reconciler.reconcileOnce(term: term)
        let normal = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(Set(normal), Set(queued.map(\.taskID)))
        XCTAssertEqual(normal.count, queued.count, "each once")
        let highQueue = try await self.harness.inspector.entries(.queue(.high)).map(\.taskID)
        XCTAssertEqual(Set(highQueue), Set(high.map(\.taskID)))
        let delayed = try await self.harness.inspector.count(.delayed)
        XCTAssertEqual(delayed, later.count)
        let sentinel = try await self.harness.inspector.restoreSentinel()
        XCTAssertEqual(sentinel, "1")
    }

    func testARestoreCutShortResumesAndCompletes() async throws {
        let type = try await self.harness.type("resume")
        let created = try await self.harness.create(30, type: type)
        // Redis lost its data; a restore put back the first 10 and its leader died.
        try await self.harness.inspector.clear(.queue(.normal))
        try await self.harness.inspector.setRestoreSentinel("restoring")
        let term = try await self.harness.lead()
        try await self.harness.broker.beginRestore(fence: term.lockValue)
        _ = try await self.harness.broker.restorePage(created.prefix(10).map(QueueEntry.init), fence: term.lockValue)

        let reconciler = Reconciler(broker: self.harness.broker, tasks: self.harness.tasks, logger: self.harness.logger)
        _ = try await reconciler.reconcileOnce(term: term)
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(queue.count, 30, "each task back once")
        XCTAssertEqual(Set(queue), Set(created.map(\.taskID)))
        let sentinel = try await self.harness.inspector.restoreSentinel()
        XCTAssertEqual(sentinel, "1", "complete only at the end")
        let held = try await self.harness.inspector.restoreIsHeld()
        XCTAssertFalse(held)
    }

    func testStaleTaskMissingFromRedisIsRequeuedOnce() async throws {
        let type = try await self.harness.type("stale")
        let created = try await self.harness.create(2, type: type)
        // A crash between the MySQL commit and the Redis push: the first is nowhere.
        try await self.harness.inspector.remove(QueueEntry(created[0]).member, from: .queue(.normal))
        try await self.harness.inspector.setRestoreSentinel("1")
        let reconciler = Reconciler(broker: self.harness.broker, tasks: self.harness.tasks, logger: self.harness.logger)
        _ = try await reconciler.reconcileOnce(term: try await self.harness.lead(), now: Date().addingTimeInterval(60))
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(Set(queue), Set(created.map(\.taskID)))
        XCTAssertEqual(queue.count, 2)
    }

    func testTheSweepPassesAThousandRowsSharingOneUpdatedAt() async throws {
        let type = try await self.harness.type("sweep")
        // One batch: every row has the same updated_at, an hour ago; Redis holds none of them.
        let old = Date().addingTimeInterval(-3600).roundedToMicroseconds
        let rows = (0..<1000).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .queued,
                       maxRetries: 0, timeoutSeconds: 30, createdAt: old, updatedAt: old)
        }
        try await self.harness.tasks.insert(rows)
        try await self.harness.inspector.setRestoreSentinel("1")
        var configuration = Reconciler.Configuration()
        configuration.pageSize = 200
        let reconciler = Reconciler(broker: self.harness.broker, tasks: self.harness.tasks, configuration: configuration, logger: self.harness.logger)
        let term = try await self.harness.lead()
        var cursor = Reconciler.Cursor()
        var passes = 0
        repeat {
            cursor = try await reconciler.reconcileOnce(term: term, cursor: cursor)
            passes += 1
        } while cursor != Reconciler.Cursor() && passes < 20
        let queued = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(Set(queued), Set(rows.map(\.taskID)), "every row of the shared updated_at reached")
        XCTAssertEqual(queued.count, 1000)
        XCTAssertLessThan(passes, 12, "pages of 200 plus one per status, not a pinned cursor")
    }

    func testDueDelayedTasksArePromoted() async throws {
        let type = try await self.harness.type("delayed")
        let soon = try await self.harness.create(3, type: type, runAt: Date().addingTimeInterval(0.2))
        let promoter = DelayedPromoter(broker: self.harness.broker)
        let term = try await self.harness.lead()
        let early = try await promoter.promoteOnce(term: term)
        XCTAssertEqual(early, 0)
        try await Task.sleep(for: .milliseconds(250))
        let promoted = try await promoter.promoteOnce(term: term)
        XCTAssertEqual(promoted, 3)
        // A deposed leader promotes nothing.
        let deposed = LeaderState.Term(epoch: term.epoch - 1, lockValue: "someone-else")
        do {
            _ = try await promoter.promoteOnce(term: deposed)
            XCTFail("a promotion without the lock must be refused")
        } catch let error as BrokerError {
            XCTAssertTrue(error.description.contains("FENCED"), "\(error)")
        }
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(Set(queue), Set(soon.map(\.taskID)))
    }

    func testAnIdlePromoterWakesForANewDelayedTaskOrRetry() async throws {
        let type = try await self.harness.type("wake")
        let term = try await self.harness.lead()
        let harness = self.harness!
        // Idle, it would sleep 10 s; the new entries must wake it.
        let promoter = DelayedPromoter(broker: harness.broker, maxIdle: .seconds(10))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await promoter.run(term: term) }
            try await Task.sleep(for: .milliseconds(100))  // let it block on the empty set
            let started = ContinuousClock.now
            let delayed = try await harness.create(1, type: type, runAt: Date().addingTimeInterval(0.3))
            let queued = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(5)) {
                try await harness.inspector.entries(.queue(.normal)).map(\.taskID) == [delayed[0].taskID]
            }
            XCTAssertTrue(queued)
            let took = ContinuousClock.now - started
            XCTAssertGreaterThanOrEqual(took, .milliseconds(250), "not before its run_at")
            XCTAssertLessThan(took, .seconds(2), "woken for the new entry, not at the idle timeout")

            // A retry scheduled by a worker's acknowledgement wakes it too.
            try await harness.inspector.clear(.queue(.normal))
            let worker = "w-\(harness.prefix)"
            let entry = QueueEntry(delayed[0])
            try await harness.inspector.push([entry.member], onto: .inFlight(worker))
            let retryAt = Date().addingTimeInterval(0.3)
            try await harness.broker.acknowledge(workerID: worker, [(entry, Int64(retryAt.timeIntervalSince1970 * 1000))])
            let retried = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(5)) {
                try await harness.inspector.entries(.queue(.normal)).map(\.taskID) == [delayed[0].taskID]
            }
            XCTAssertTrue(retried)
            XCTAssertLessThan(Date().timeIntervalSince(retryAt), 1.5)
            group.cancelAll()
            // Its blocking wait ends on a wake, then it sees the cancel.
            try await harness.inspector.wakePromoter()
        }
    }
}

final class TimeoutRecoveryTests: XCTestCase {
    func testOverdueRunningTasksRetryOrTimeOut() async throws {
        let harness = try await SchedulerHarness()
        let retrying = try await harness.type("overdue_retry", retries: 1)
        let final = try await harness.type("overdue_final")
        let a = try await harness.create(1, type: retrying)[0]
        let b = try await harness.create(1, type: final)[0]
        try await harness.mysql.execute("UPDATE task SET max_retries = 1, timeout_seconds = 1 WHERE task_id = ?", [.string(a.taskID)])
        try await harness.mysql.execute("UPDATE task SET timeout_seconds = 1 WHERE task_id = ?", [.string(b.taskID)])
        // A worker started both long ago and went silent.
        let longAgo = Date().addingTimeInterval(-60).roundedToMicroseconds
        _ = try await harness.tasks.start([a.taskID, b.taskID], workerID: "silent", now: longAgo)
        try await harness.inspector.clear(.queue(.normal))
        try await harness.inspector.push([QueueEntry(a).member, QueueEntry(b).member], onto: .inFlight("silent"))

        let recoverer = TimeoutRecoverer(broker: harness.broker, tasks: harness.tasks, configs: TaskConfigCache(store: harness.configs), logger: harness.logger)
        let recovered = try await recoverer.recoverOnce(term: try await harness.lead())
        XCTAssertEqual(recovered, 2)
        let first = try await harness.tasks.task(a.taskID)!
        let second = try await harness.tasks.task(b.taskID)!
        XCTAssertEqual(first.status, .retrying)
        XCTAssertEqual(second.status, .timeout)
        XCTAssertNotNil(second.finishedAt)
        let delayed = try await harness.inspector.members(.delayed)
        XCTAssertEqual(delayed, [QueueEntry(a).next.member], "the retry, as the task's next generation")
        let inFlight = try await harness.inspector.members(.inFlight("silent"))
        XCTAssertEqual(inFlight, [])
        try await harness.shutdown()
    }
}

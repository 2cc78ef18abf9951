import BatonBroker
import BatonModel
import BatonMySQL
import BatonScheduler
@testable import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// A start write starts only what it should (issue 26, items 4 and 6): never
/// from a stale entry (an older generation of its task), never for a worker
/// the leader declared dead, never during a retry's backoff; and a restore
/// after Redis lost its data puts each waiting task back once, a retry at
/// its due time.
final class StaleStartTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private var now: Date { Date().roundedToMicroseconds }

    /// Before: the leader reclaimed a stopped worker, the worker woke and
    /// its start write landed under its dead id; nobody recovered the row
    /// until its timeout.
    func testAWorkerDeclaredDeadCannotStartWhatItHeld() async throws {
        let type = try await self.harness.type("fenced")
        let created = try await self.harness.create(2, type: type)
        let term = try await self.harness.lead()
        let dispatcher = self.harness.dispatcher()
        let recoverer = DeadWorkerRecoverer(broker: self.harness.broker, tasks: self.harness.tasks, logger: self.harness.logger)
        let worker = "sleeper-\(UUID().uuidString.prefix(6))"
        try await self.harness.registerWorker(worker, capacity: 10)
        try await dispatcher.dispatchOnce(term: term)
        // The worker takes both entries, then stops (SIGSTOP) before its start write.
        let taken = try await self.harness.broker.take(workerID: worker, count: 2)
        XCTAssertEqual(taken.count, 2)
        try await self.harness.age(worker: worker, by: 30)
        let reclaimed = try await recoverer.recoverOnce(term: term)
        XCTAssertEqual(reclaimed, [worker])
        // It wakes: its start write changes nothing, and says the tasks still wait.
        let claims = taken.map { ($0.taskID, $0.generation) }
        let started = try await self.harness.tasks.start(claims, workerID: worker, cluster: self.harness.broker.cluster, now: self.now)
        XCTAssertEqual(started, [], "a fenced worker started tasks")
        for task in created {
            let status = try await self.harness.tasks.task(task.taskID)?.status
            XCTAssertEqual(status, .queued)
        }
        let waiting = try await self.harness.tasks.stillWaiting(claims)
        XCTAssertEqual(waiting, Set(created.map(\.taskID)))
        // Its hand-back of what it held puts nothing back twice: the leader already did.
        try await self.harness.broker.handBackInFlight(workerID: worker, taken)
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(queue.sorted(), created.map(\.taskID).sorted())
        // Another worker starts them.
        let other = try await self.harness.tasks.start(claims, workerID: "\(worker)-next", cluster: self.harness.broker.cluster, now: self.now)
        XCTAssertEqual(other.count, 2)
    }

    /// Before: cancel then RetryTask of a queued task left two identical
    /// entries (the retry's enqueue cleared the cancel's tombstone), and the
    /// stale one started the task even during a later retry's backoff.
    func testAStaleEntryNeverStartsANewerStateOfItsTask() async throws {
        let type = try await self.harness.type("stale", retries: 3)
        let task = try await self.harness.create(1, type: type)[0]
        let stale = QueueEntry(task)
        // Cancelled while queued: the entry stays, with a tombstone.
        let (cancelled, ok) = try await self.harness.tasks.cancel(task.taskID, reason: "cancelled: test")
        XCTAssertTrue(ok)
        try await self.harness.broker.cancel(cancelled!)
        // RetryTask: a new entry, of the next generation.
        let retried = try await self.harness.tasks.retry([task.taskID], from: .cancelled, priority: nil, now: self.now)
        XCTAssertEqual(retried.first?.generation, 1)
        try await self.harness.broker.enqueue(retried)
        let queued = try await self.harness.inspector.members(.queue(.normal))
        XCTAssertEqual(queued, [stale.member, QueueEntry(retried[0]).member])
        let tombstone = try await self.harness.inspector.score(of: stale.member, in: .tombstones)
        XCTAssertNotNil(tombstone, "the stale entry keeps its tombstone")
        // The stale entry starts nothing.
        let cluster = self.harness.broker.cluster
        let staleStart = try await self.harness.tasks.start([(task.taskID, 0)], workerID: "w1", cluster: cluster, now: self.now)
        XCTAssertEqual(staleStart, [])
        // The new one starts attempt 1, which fails and waits 20 s to retry.
        let first = try await self.harness.tasks.start([(task.taskID, 1)], workerID: "w1", cluster: cluster, now: self.now)
        XCTAssertEqual(first.map(\.attempt), [1])
        let due = self.now.addingTimeInterval(20)
        let changed = try await self.harness.tasks.recordWorkerOutcomes(
            [FinishedAttempt(taskID: task.taskID, attempt: 1, status: .retrying, error: "boom", tenant: task.tenant, retryAt: due)],
            workerID: "w1", now: self.now
        ).applied
        XCTAssertEqual(changed, [task.taskID])
        let backingOff = try await self.harness.tasks.task(task.taskID)!
        XCTAssertEqual(backingOff.status, .retrying)
        XCTAssertEqual(backingOff.generation, 2)
        XCTAssertEqual(backingOff.retryAt, due)
        // During the backoff no older entry starts it.
        for generation in [0, 1] {
            let started = try await self.harness.tasks.start([(task.taskID, generation)], workerID: "w2", cluster: cluster, now: self.now)
            XCTAssertEqual(started, [], "an entry of generation \(generation) started the task during its backoff")
        }
        let waiting = try await self.harness.tasks.stillWaiting([(task.taskID, 1)])
        XCTAssertEqual(waiting, [], "a stale entry is dropped, not handed back")
        // The retry's own entry (what the promoter moves when due) does.
        let second = try await self.harness.tasks.start([(task.taskID, 2)], workerID: "w2", cluster: cluster, now: self.now)
        XCTAssertEqual(second.map(\.attempt), [2])
    }

    /// A retry is scheduled as the entry of the next generation.
    func testARetryWaitsInTheDelayedSetAsItsNextGeneration() async throws {
        let type = try await self.harness.type("next", retries: 2)
        let task = try await self.harness.create(1, type: type)[0]
        let worker = "w-\(UUID().uuidString.prefix(6))"
        try await self.harness.inspector.push([QueueEntry(task).member], onto: .inFlight(worker))
        let due = Int64(Date().addingTimeInterval(60).timeIntervalSince1970 * 1000)
        try await self.harness.broker.acknowledge(workerID: worker, [(QueueEntry(task), due)])
        let delayed = try await self.harness.inspector.members(.delayed)
        XCTAssertEqual(delayed, [QueueEntry(task).next.member])
        XCTAssertEqual(QueueEntry(member: QueueEntry(task).next.member)?.generation, 1)
        let inFlight = try await self.harness.inspector.members(.inFlight(worker))
        XCTAssertEqual(inFlight, [])
    }

    /// Before: a restore put a RETRYING task straight on its queue (it ran
    /// inside its backoff), and pushed a second copy of a task created while
    /// the restore ran.
    func testARestorePutsARetryBackAtItsDueTimeAndNothingTwice() async throws {
        let type = try await self.harness.type("restore", retries: 3)
        let backingOff = try await self.harness.create(1, type: type)[0]
        let cluster = self.harness.broker.cluster
        _ = try await self.harness.tasks.start([backingOff.taskID], workerID: "w1", cluster: cluster, now: self.now)
        let due = self.now.addingTimeInterval(120)
        _ = try await self.harness.tasks.recordWorkerOutcomes(
            [FinishedAttempt(taskID: backingOff.taskID, attempt: 1, status: .retrying, error: "boom", tenant: backingOff.tenant, retryAt: due)],
            workerID: "w1", now: self.now
        )
        let waiting = try await self.harness.create(20, type: type)
        // Redis loses its data; a restore begins.
        try await self.harness.inspector.flushDatabase()
        try await self.harness.inspector.setRestoreSentinel("restoring")
        let term = try await self.harness.lead()
        try await self.harness.broker.beginRestore(fence: term.lockValue)
        // A task is created while the restore runs (committed, then enqueued).
        let during = try await self.harness.create(1, type: type)[0]
        let reconciler = Reconciler(broker: self.harness.broker, tasks: self.harness.tasks, logger: self.harness.logger)
        _ = try await reconciler.reconcileOnce(term: term)
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(queue.count, Set(queue).count, "a task is on its queue twice")
        XCTAssertEqual(Set(queue), Set((waiting + [during]).map(\.taskID)))
        XCTAssertFalse(queue.contains(backingOff.taskID), "a task in its retry backoff is on its queue")
        let score = try await self.harness.inspector.score(of: QueueEntry(try await self.harness.tasks.task(backingOff.taskID)!).member, in: .delayed)
        XCTAssertEqual(score, Int64(due.timeIntervalSince1970 * 1000), "back in the delayed set at its due time")
    }

    /// The start write reads the tasks and the fence by their primary keys and
    /// the paused types on their index; the fence prune reads its index.
    func testTheStartWriteReadsOnlyKeys() async throws {
        let claims = [(TaskID.make(), 0), (TaskID.make(), 2)]
        // The start write, the deferred start's read, and the outcome write
        // that may record a start (docs/deferred-start.md).
        let outcomes = claims.map { FinishedAttempt(taskID: $0.0, attempt: 1, status: .succeeded, tenant: Tenant.default, generation: $0.1, startedAt: self.now) }
        for (sql, binds) in [
            TaskStore.startStatement(claims, workerID: "w1", cluster: "c", now: self.now),
            TaskStore.startableStatement(claims, workerID: "w1", cluster: "c"),
            TaskStore.startableStatement(claims.map { ($0.0, 0) }, workerID: "w1", cluster: "c"),
            TaskStore.outcomeStatement(outcomes, now: self.now, plainOnly: true, writer: ("w1", "c")),
        ] {
            let plan = try await self.harness.mysql.query("EXPLAIN " + sql, binds)
            XCTAssertFalse(plan.isEmpty)
            let keys = ["task": "PRIMARY", "worker_fence": "PRIMARY", "task_config": "idx_task_config_paused"]
            for row in plan {
                guard let table = row.string("table") else { continue }
                XCTAssertNotEqual(row.string("type"), "ALL", "\(table): a table scan in \(sql)")
                XCTAssertEqual(row.string("key"), keys[table], "\(table) is not read by its key in \(sql)")
            }
        }
        // On a table of a few rows a scan is the cheaper plan and the
        // optimizer rightly takes it: the plan is read with the table as a
        // cluster that has declared workers dead for a while holds it.
        let cluster = "explain-\(TaskID.make())"
        let fences = (0..<300).map { n in [MySQLValue.string(cluster), .string("w\(n)"), .date(self.now.addingTimeInterval(Double(n)))] }
        try await self.harness.mysql.insertRows(into: "worker_fence", columns: ["cluster", "worker_id", "fenced_at"], rows: fences)
        let prune = try await self.harness.mysql.query("EXPLAIN DELETE FROM worker_fence WHERE fenced_at < ? LIMIT 1000", [.date(self.now.addingTimeInterval(-1))])
        try await self.harness.mysql.execute("DELETE FROM worker_fence WHERE cluster = ?", [.string(cluster)])
        XCTAssertEqual(prune.first?.string("key"), "idx_worker_fence_at")
    }
}

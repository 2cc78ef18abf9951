import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// What keeps a large backlog cheap: a share of capacity kept for high work,
/// cancels without queue scans, watches that lapse, and task counts that do
/// not read the table.
final class BacklogScaleTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private func dispatcher(reserve: Int) -> Dispatcher {
        var configuration = Dispatcher.Configuration()
        configuration.heartbeatTTL = .seconds(60)
        configuration.highReserve = reserve
        return Dispatcher(broker: self.harness.broker, tasks: self.harness.tasks, configs: self.harness.configs, configuration: configuration, logger: self.harness.logger)
    }

    func testNormalWorkLeavesTheReserveForHighWork() async throws {
        let type = try await self.harness.type("reserve")
        try await self.harness.create(50, type: type)
        try await self.harness.registerWorker("w1", capacity: 20)
        let term = try await self.harness.lead()
        let dispatcher = self.dispatcher(reserve: 10)
        try await dispatcher.dispatchOnce(term: term)
        var held = try await self.harness.inspector.waitingOn(worker: "w1")
        XCTAssertEqual(held.count, 18, "normal work fills 20 less 10 %")
        // More normal work waits; a high task still finds a slot at once.
        try await dispatcher.dispatchOnce(term: term)
        let value1 = try await self.harness.inspector.waitingOn(worker: "w1").count
        XCTAssertEqual(value1, 18)
        let high = try await self.harness.create(3, type: type, priority: .high)
        try await dispatcher.dispatchOnce(term: term)
        held = try await self.harness.inspector.waitingOn(worker: "w1")
        XCTAssertEqual(held.count, 20, "the worker is full, never over")
        XCTAssertEqual(Array(held.prefix(2)).map(\.taskID), Array(high.prefix(2)).map(\.taskID), "high first, in order")
        // Without a reserve, normal work takes every slot.
        try await self.harness.registerWorker("w2", capacity: 20)
        try await self.dispatcher(reserve: 0).dispatchOnce(term: term)
        let value2 = try await self.harness.inspector.waitingOn(worker: "w2").count
        XCTAssertEqual(value2, 20)
    }

    func testACancelLeavesATombstoneTheDispatcherDrops() async throws {
        let type = try await self.harness.type("tomb")
        let created = try await self.harness.create(6, type: type)
        let high = try await self.harness.create(1, type: type, priority: .high)
        for task in [created[1], created[4], high[0]] {
            _ = try await self.harness.tasks.cancel(task.taskID, reason: "test", now: Date())
            try await self.harness.broker.cancel(task)
        }
        // No queue was scanned: the entries stay until the dispatcher reaches them.
        let value3 = try await self.harness.inspector.members(.queue(.normal)).count
        XCTAssertEqual(value3, 6)
        let value4 = try await self.harness.inspector.count(.tombstones)
        XCTAssertEqual(value4, 3)
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        let moved = try await self.dispatcher(reserve: 0).dispatchOnce(term: term)
        XCTAssertEqual(moved, 4)
        let held = try await self.harness.inspector.waitingOn(worker: "w1").map(\.taskID)
        XCTAssertEqual(held, [created[0], created[2], created[3], created[5]].map(\.taskID), "the rest in order")
        let value5 = try await self.harness.inspector.members(.queue(.normal))
        XCTAssertEqual(value5, [])
        let value6 = try await self.harness.inspector.members(.queue(.high))
        XCTAssertEqual(value6, [])
        let value7 = try await self.harness.inspector.count(.tombstones)
        XCTAssertEqual(value7, 0)
        let value8 = try await self.harness.inspector.inUse(type)
        XCTAssertEqual(value8, 4, "slots only for what moved")
    }

    func testAWatchLapsesWithoutItsWatcherAndIsPruned() async throws {
        let type = try await self.harness.type("watch")
        let task = try await self.harness.create(1, type: type)[0]
        let entry = QueueEntry(task)
        // A watcher on a node that then crashed: its lease is never renewed.
        try await self.harness.broker.watch(task.taskID, lease: .milliseconds(300))
        try await self.harness.inspector.push([entry.member], onto: .inFlight("w1"))
        try await self.harness.broker.acknowledge(workerID: "w1", [(entry, 0)])
        let announced = try await self.harness.inspector.count(.events)
        XCTAssertEqual(announced, 1, "a watched task's change is announced")
        try await Task.sleep(for: .milliseconds(400))
        try await self.harness.broker.pruneLapsed()
        let value9 = try await self.harness.inspector.count(.watchers)
        XCTAssertEqual(value9, 0, "the lapsed watch is gone")
        // Renewed leases are kept; old tombstones go, recent ones stay.
        try await self.harness.broker.watch(task.taskID, lease: .seconds(30))
        try await self.harness.inspector.add("0|old|x", score: 1, to: .tombstones)
        try await self.harness.inspector.add("0|new|x", score: Int64(Date().timeIntervalSince1970 * 1000), to: .tombstones)
        try await self.harness.broker.pruneLapsed()
        let value10 = try await self.harness.inspector.count(.watchers)
        XCTAssertEqual(value10, 1)
        let value12 = try await self.harness.inspector.members(.tombstones)
        XCTAssertEqual(value12, ["0|new|x"])
    }

    func testTaskCountsFollowEveryChangeWithoutReadingTheTable() async throws {
        let type = try await self.harness.type("counts")
        let tasks = self.harness.tasks
        try await tasks.auditCounts()
        let before = try await tasks.countsByStatus()
        // Finished rows (inserted finished, as a scan would show), then the life of a few tasks.
        let now = Date().roundedToMicroseconds
        try await tasks.insert((0..<2000).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .succeeded,
                       maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now)
        })
        let ids = try await self.harness.create(4, type: type).map(\.taskID)
        _ = try await tasks.start(ids, workerID: "w1", now: now)
        _ = try await tasks.recordWorkerOutcomes(
            [FinishedAttempt(taskID: ids[0], attempt: 1, status: .succeeded, tenant: Tenant.default), FinishedAttempt(taskID: ids[1], attempt: 1, status: .failed, tenant: Tenant.default)],
            workerID: "w1", now: now.addingTimeInterval(0.001)
        )
        _ = try await tasks.cancel(ids[2], reason: "test", now: now)
        // A worker lost once too often (FAILED), and a dead letter run again (FAILED no more).
        let lost = try await tasks.recordWorkerLoss([ids[3]], workerID: "w1", cap: 1, now: now.addingTimeInterval(0.002), fence: nil).failed
        XCTAssertEqual(lost, [ids[3]])
        let retried = try await tasks.retry([ids[1]], from: .failed, priority: nil, now: now.addingTimeInterval(0.003))
        XCTAssertEqual(retried.map(\.taskID), [ids[1]])
        let after = try await tasks.countsByStatus()
        func delta(_ status: TaskStatus) -> Int64 { (after[status] ?? 0) - (before[status] ?? 0) }
        XCTAssertEqual(delta(.succeeded), 2001)
        XCTAssertEqual(delta(.failed), 1)
        XCTAssertEqual(delta(.cancelled), 1)
        XCTAssertEqual(delta(.running), 0)
        XCTAssertEqual(delta(.queued), 1)
        // The counts agree with the table.
        let truth = try await self.harness.mysql.query("SELECT status, COUNT(*) AS n FROM task GROUP BY status")
        for row in truth {
            let status = TaskStatus(rawValue: row.int("status") ?? 0)!
            XCTAssertEqual(after[status] ?? 0, row.int64("n") ?? 0, status.wireName)
        }
        // Reading them touches the counters and the unfinished rows, not the 2,000 finished ones.
        let unfinished = after.filter { !$0.key.isTerminal }.values.reduce(0, +)
        let counters = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_read_rnd_next', 'Handler_read_next', 'Handler_read_prev', 'Handler_read_key')"
        let read0 = try await self.harness.mysql.query(counters).compactMap { $0.int64("Value") }.reduce(0, +)
        _ = try await tasks.countsByStatus()
        let read1 = try await self.harness.mysql.query(counters).compactMap { $0.int64("Value") }.reduce(0, +)
        XCTAssertLessThan(read1 - read0, unfinished + 200, "GetStats' counts read \(read1 - read0) rows")
        // Deleted rows (retention) leave the counts too.
        let deleted = try await tasks.deleteExpired([ids[0]], taskType: type, retention: Retention(defaultHours: 1), now: Date().addingTimeInterval(2 * 3600))
        XCTAssertEqual(deleted, 1)
        let value13 = (try await tasks.countsByStatus()[.succeeded] ?? 0) - (before[.succeeded] ?? 0)
        XCTAssertEqual(value13, 2000)
    }

    func testTheAuditCorrectsSkewAndFoldsClosedConnections() async throws {
        let tasks = self.harness.tasks
        try await tasks.auditCounts()
        let right = try await tasks.countsByStatus()
        // Skew (as a hand edit with triggers off would leave), and rows of a connection long gone.
        try await self.harness.mysql.execute(
            "INSERT INTO task_status_count (status, shard, n) VALUES (?, 4000000000, 5), (?, 4000000001, -2)",
            [.int(Int64(TaskStatus.failed.rawValue)), .int(Int64(TaskStatus.timeout.rawValue))]
        )
        let value14 = (try await tasks.countsByStatus()[.failed] ?? 0) - (right[.failed] ?? 0)
        XCTAssertEqual(value14, 5)
        let corrections = try await tasks.auditCounts()
        XCTAssertEqual(corrections[.failed], -5)
        XCTAssertEqual(corrections[.timeout], 2)
        let fixed = try await tasks.countsByStatus()
        XCTAssertEqual(fixed[.failed] ?? 0, right[.failed] ?? 0)
        XCTAssertEqual(fixed[.timeout] ?? 0, right[.timeout] ?? 0)
        let closed = try await self.harness.mysql.query("SELECT COUNT(*) AS n FROM task_status_count WHERE shard >= 4000000000")
        XCTAssertEqual(closed.first?.int("n"), 0, "closed connections' rows folded into shard 0")
    }
}

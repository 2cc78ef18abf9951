import BatonModel
import BatonMySQL
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// The worker's batched status writes against a real MariaDB.
final class TaskStoreBatchTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testFinishWritesEachRowItsOwnOutcomeAndSkipsTasksThatMovedOn() async throws {
        let type = try await self.harness.type("finish")
        let created = try await self.harness.create(5, type: type)
        let ids = created.map(\.taskID)
        let started = try await self.harness.tasks.start(ids, workerID: "w1", now: Date().roundedToMicroseconds)
        XCTAssertEqual(Set(started.map(\.taskID)), Set(ids))
        // Cancelled while it ran: the worker's outcome must not overwrite that.
        let cancelled = try await self.harness.tasks.cancel(ids[4], reason: "user")
        XCTAssertTrue(cancelled.cancelled)

        let attempts = [
            FinishedAttempt(taskID: ids[0], attempt: 1, status: .succeeded, result: "one", tenant: Tenant.default),
            FinishedAttempt(taskID: ids[1], attempt: 1, status: .failed, error: "bad input", tenant: Tenant.default),
            FinishedAttempt(taskID: ids[2], attempt: 1, status: .retrying, error: "try later", tenant: Tenant.default),
            FinishedAttempt(taskID: ids[3], attempt: 2, status: .succeeded, result: "stale attempt", tenant: Tenant.default),
            FinishedAttempt(taskID: ids[4], attempt: 1, status: .succeeded, result: "too late", tenant: Tenant.default),
        ]
        let now = Date().roundedToMicroseconds
        let applied = try await self.harness.tasks.recordWorkerOutcomes(attempts, workerID: "w1", now: now).applied
        XCTAssertEqual(applied, [ids[0], ids[1], ids[2]])

        let rows = try await ids.asyncMap { try await self.harness.tasks.task($0)! }
        XCTAssertEqual(rows[0].status, .succeeded)
        XCTAssertEqual(rows[0].result, "one")
        XCTAssertEqual(rows[0].finishedAt, now)
        XCTAssertEqual(rows[1].status, .failed)
        XCTAssertEqual(rows[1].error, "bad input")
        XCTAssertNil(rows[1].result)
        XCTAssertEqual(rows[2].status, .retrying)
        XCTAssertEqual(rows[2].error, "try later")
        XCTAssertNil(rows[2].finishedAt, "a retry is not finished")
        XCTAssertEqual(rows[3].status, .running, "another attempt's outcome changes nothing")
        XCTAssertEqual(rows[4].status, .cancelled)
        XCTAssertNil(rows[4].result)
    }

    /// The worker's writes go by primary key whatever the optimizer thinks
    /// of the status index: on it, an outcome's next-key locks covered the
    /// gap new QUEUED rows go into, and every create waited for the outcome
    /// writes under way (measured: CreateTask p99 at 500/s 30–50 ms).
    func testAnOutcomeWriteUnderWayHoldsBackNoCreate() async throws {
        let type = try await self.harness.type("locks")
        let ids = try await self.harness.create(3, type: type).map(\.taskID)
        _ = try await self.harness.tasks.start(ids, workerID: "w1", now: Date().roundedToMicroseconds)
        // The finished counts held: the outcome's transaction stops after its UPDATE, keeping that UPDATE's locks.
        let holder = try await self.harness.holdFinishedCounts(for: .seconds(3))
        let harness = self.harness!
        let finishing = Task {
            try await harness.tasks.recordWorkerOutcomes(
                ids.map { FinishedAttempt(taskID: $0, attempt: 1, status: .succeeded, result: "", tenant: Tenant.default) }, workerID: "w1", now: Date().roundedToMicroseconds
            ).applied
        }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        _ = try await self.harness.create(2, type: type)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1), "a create waited for an outcome write")
        try await holder.value
        let applied = try await finishing.value
        XCTAssertEqual(applied, Set(ids))
    }

    func testFinishAppliesAllOfALargeBatch() async throws {
        let type = try await self.harness.type("large")
        // 37 is no power of two: the statement is padded with repeats.
        let created = try await self.harness.create(37, type: type)
        let ids = created.map(\.taskID)
        _ = try await self.harness.tasks.start(ids, workerID: "w1", now: Date().roundedToMicroseconds)
        let attempts = ids.map { FinishedAttempt(taskID: $0, attempt: 1, status: .succeeded, result: "r-\($0)", tenant: Tenant.default) }
        let applied = try await self.harness.tasks.recordWorkerOutcomes(attempts, workerID: "w1", now: Date().roundedToMicroseconds).applied
        XCTAssertEqual(applied, Set(ids))
        for id in ids {
            let row = try await self.harness.tasks.task(id)
            XCTAssertEqual(row?.status, .succeeded)
            XCTAssertEqual(row?.result, "r-\(id)")
        }
    }

    func testBatchStartOfAnOddCountStartsEachOnce() async throws {
        let type = try await self.harness.type("start")
        let created = try await self.harness.create(11, type: type)
        let ids = created.map(\.taskID)
        let started = try await self.harness.tasks.start(ids, workerID: "w1", now: Date().roundedToMicroseconds)
        XCTAssertEqual(started.count, 11)
        XCTAssertEqual(Set(started.map(\.attempt)), [1])
        let again = try await self.harness.tasks.start(ids, workerID: "w1", now: Date().roundedToMicroseconds)
        XCTAssertTrue(again.isEmpty, "a running task does not start twice")
    }

    /// Under heavy writes (purge lag inflating the status index's estimates)
    /// MariaDB was seen walking the id index backwards through every finished
    /// task for such a query; the store pins the status index. This guards the
    /// rows read; the plan flip itself needs that load to show.
    func testListingUnfinishedTasksReadsOnlyUnfinishedRows() async throws {
        let type = try await self.harness.type("list")
        let now = Date().roundedToMicroseconds
        let finished = (0..<3000).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .succeeded,
                       maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now)
        }
        try await self.harness.tasks.insert(finished)
        let running = try await self.harness.create(1, type: type)
        _ = try await self.harness.tasks.start([running[0].taskID], workerID: "w1", now: now)

        // Rows the server reads for the query, from its global handler counters.
        func rowsRead(_ body: () async throws -> Void) async throws -> Int {
            let counters = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_read_prev', 'Handler_read_next', 'Handler_read_key')"
            let before = try await self.harness.mysql.query(counters).compactMap { $0.int("Value") }.reduce(0, +)
            try await body()
            let after = try await self.harness.mysql.query(counters).compactMap { $0.int("Value") }.reduce(0, +)
            return after - before
        }
        var found: [TaskRecord] = []
        let read = try await rowsRead {
            found = try await self.harness.tasks.list(TaskQuery(statuses: [.pending, .queued, .scheduled, .running, .retrying], taskType: type), afterID: nil, limit: 1)
        }
        XCTAssertEqual(found.map(\.taskID), [running[0].taskID])
        XCTAssertLessThan(read, 100, "the unfinished task is found without walking the finished ones (read \(read))")
        let none = try await rowsRead {
            found = try await self.harness.tasks.list(TaskQuery(statuses: [.pending, .retrying], taskType: type), afterID: nil, limit: 1)
        }
        XCTAssertEqual(found.count, 0)
        XCTAssertLessThan(none, 100, "an empty answer costs no scan either (read \(none))")

        // An admin's dead letters across tenants: a page examines each
        // tenant's first rows, not every FAILED row (once sorted whole).
        let failed = (0..<2000).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .failed,
                       maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now)
        }
        try await self.harness.tasks.insert(failed)
        let newestFailed = try await rowsRead {
            found = try await self.harness.tasks.list(TaskQuery(statuses: [.failed]), afterID: nil, limit: 10)
        }
        XCTAssertEqual(found.map(\.taskID), failed.map(\.taskID).sorted(by: >).prefix(10).map { $0 })
        XCTAssertLessThan(newestFailed, 200, "a page of every tenant's FAILED tasks reads a page per tenant (read \(newestFailed))")
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var mapped: [T] = []
        for element in self { mapped.append(try await transform(element)) }
        return mapped
    }
}

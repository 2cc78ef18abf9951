import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
@testable import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// Pause in the dispatcher, retention, and the index behind every ListTasks shape.
final class OperationsStoreTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testAPausedTypeWaitsAsideAndResumesInOrder() async throws {
        let paused = try await self.harness.type("paused")
        let other = try await self.harness.type("other")
        var order: [TaskRecord] = []
        // 300 of the paused type ahead of the other type: more than one look-ahead window.
        order += try await self.harness.create(300, type: paused)
        order += try await self.harness.create(2, type: other)
        order += try await self.harness.create(3, type: paused)
        guard var config = try await self.harness.configs.config(paused) else { return XCTFail("no config") }
        config.paused = true
        try await self.harness.broker.setLimits(TypeLimits(config))
        try await self.harness.registerWorker("w1", capacity: 1000)
        let term = try await self.harness.lead()
        let dispatcher = self.harness.dispatcher()
        for _ in 0..<5 { try await dispatcher.dispatchOnce(term: term) }
        let moved = try await self.harness.inspector.waitingOn(worker: "w1").map(\.taskID)
        XCTAssertEqual(moved, order.filter { $0.taskType == other }.map(\.taskID), "the other type ran; the paused one held nothing back")
        let parked = try await self.harness.inspector.entries(.parked(paused)).map(\.taskID)
        XCTAssertEqual(parked, order.filter { $0.taskType == paused }.map(\.taskID), "parked in order")
        // Resume: back at the front, in the original order, and dispatched.
        config.paused = false
        try await self.harness.broker.setLimits(TypeLimits(config))
        let back = try await self.harness.broker.unpark(paused, pageSize: 64)
        XCTAssertEqual(back, 303)
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(queue, parked)
        try await dispatcher.dispatchOnce(term: term)
        let now = try await self.harness.inspector.waitingOn(worker: "w1").map(\.taskID)
        XCTAssertEqual(Array(now.dropFirst(2)), Array(parked.prefix(100)))
        let types = try await self.harness.inspector.members(.parkedTypes)
        XCTAssertEqual(types.count, 0)
    }

    func testRetentionDeletesOnlyWhatIsDue() async throws {
        let short = try await self.harness.type("short")
        let kept = try await self.harness.type("kept")
        guard var config = try await self.harness.configs.config(short) else { return XCTFail("no config") }
        config.retentionHours = 1
        try await self.harness.configs.put(config)
        let now = Date().roundedToMicroseconds
        func finished(_ type: String, hoursAgo: Double, status: TaskStatus = .succeeded) -> TaskRecord {
            let at = now.addingTimeInterval(-hoursAgo * 3600)
            return TaskRecord(taskID: TaskID.make(now: at), taskType: type, priority: .normal, payload: [:], status: status, maxRetries: 0,
                              timeoutSeconds: 30, createdAt: at, updatedAt: at, finishedAt: at)
        }
        let due = [finished(short, hoursAgo: 2), finished(short, hoursAgo: 3, status: .failed), finished(kept, hoursAgo: 200)]
        let stays = [finished(short, hoursAgo: 0.5), finished(kept, hoursAgo: 2), finished(kept, hoursAgo: 100)]
        try await self.harness.tasks.insert(due + stays)
        try await self.harness.tasks.appendLogs(due.map { TaskLogRecord(taskID: $0.taskID, attempt: 1, workerID: "w", level: "INFO", message: "x", createdAt: now) })
        var configuration = RetentionJanitor.Configuration()
        configuration.defaultHours = 168
        configuration.batchSize = 2
        configuration.pause = .zero
        let janitor = RetentionJanitor(tasks: self.harness.tasks, configs: self.harness.configs, clock: { now }, configuration: configuration, logger: self.harness.logger)
        let before = try await self.harness.tasks.countsByStatus()
        let deleted = try await janitor.passOnce()
        XCTAssertGreaterThanOrEqual(deleted, 3)
        let ids = (due + stays).map(\.taskID)
        let left = try await self.harness.mysql.query(
            "SELECT task_id FROM task WHERE task_id IN (\(ids.map { _ in "?" }.joined(separator: ",")))", ids.map { .string($0) }
        ).compactMap { $0.string("task_id") }
        XCTAssertEqual(Set(left), Set(stays.map(\.taskID)))
        let logs = try await self.harness.mysql.query(
            "SELECT COUNT(*) AS n FROM task_logs WHERE task_id IN (\(due.map { _ in "?" }.joined(separator: ",")))", due.map { .string($0.taskID) }
        )
        XCTAssertEqual(logs.first?.int("n"), 0, "their logs went with them")
        let after = try await self.harness.tasks.countsByStatus()
        XCTAssertLessThanOrEqual((after[.succeeded] ?? 0) - (before[.succeeded] ?? 0), -2, "counts follow deletions")
    }

    /// A finished task of `type`, last changed `hoursAgo`.
    private func finished(_ type: String, hoursAgo: Double, now: Date, status: TaskStatus = .succeeded) -> TaskRecord {
        let at = now.addingTimeInterval(-hoursAgo * 3600)
        return TaskRecord(taskID: TaskID.make(now: at), taskType: type, priority: .normal, payload: [:], status: status, maxRetries: 0,
                          timeoutSeconds: 30, createdAt: at, updatedAt: at, finishedAt: at)
    }

    private func janitor(now: Date) -> RetentionJanitor {
        var configuration = RetentionJanitor.Configuration()
        configuration.defaultHours = 168
        configuration.batchSize = 100
        configuration.pause = .zero
        return RetentionJanitor(tasks: self.harness.tasks, configs: self.harness.configs, clock: { now }, configuration: configuration, logger: self.harness.logger)
    }

    private func retention(_ type: String, hours: Int) async throws {
        guard var config = try await self.harness.configs.config(type) else { return XCTFail("no config") }
        config.retentionHours = hours
        try await self.harness.configs.put(config)
    }

    /// Rows read through the handlers, server-wide (this server runs only the test).
    private func rowsRead() async throws -> Int64 {
        let counters = try await self.harness.mysql.query(
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_read_rnd_next', 'Handler_read_next', 'Handler_read_prev', 'Handler_read_key')"
        ).compactMap { $0.int64("Value") }
        XCTAssertEqual(counters.count, 4, "handler counters")
        return counters.reduce(0, +)
    }

    /// A type kept a week beside one kept an hour: its rows, days old, are
    /// not read again on every pass for want of the other type's cutoff.
    func testRetentionReadsALongKeptTypesRowsOnlyOnceDue() async throws {
        let short = try await self.harness.type("hour")
        let long = try await self.harness.type("week")
        try await self.retention(short, hours: 1)
        let now = Date().roundedToMicroseconds
        let kept = (0..<1500).map { self.finished(long, hoursAgo: 2 + Double($0 % 98), now: now) }
        try await self.harness.tasks.insert(kept)
        try await self.harness.tasks.insert((0..<3).map { _ in self.finished(short, hoursAgo: 2, now: now) })
        let janitor = self.janitor(now: now)
        let first = try await janitor.passOnce()
        XCTAssertGreaterThanOrEqual(first, 3)
        // Reading the counters reads rows too (the status table): measured apart.
        let read0 = try await self.rowsRead()
        let read1 = try await self.rowsRead()
        try await janitor.passOnce()
        let read2 = try await self.rowsRead()
        let pass = (read2 - read1) - (read1 - read0)
        XCTAssertLessThan(pass, 500, "a pass read \(pass) rows; 1,500 of them are not due for days")
        let left = try await self.harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(long)]).first?.int("n")
        XCTAssertEqual(left, 1500)
    }

    /// Idempotency keys live in their own table (migration 012): a key
    /// taken refuses a second task with it (nothing inserted), a tenant's
    /// key is its own, the lookup finds the task by its key, and the key
    /// goes with its task when retention deletes it (then it can be used
    /// again).
    func testIdempotencyKeysAreTakenOnceAndGoWithTheirTask() async throws {
        let type = try await self.harness.type("keys")
        try await self.retention(type, hours: 1)
        let now = Date().roundedToMicroseconds
        var old = self.finished(type, hoursAgo: 2, now: now)
        old.idempotencyKey = "order-1"
        try await self.harness.tasks.insert([old])
        var again = self.finished(type, hoursAgo: 0, now: now)
        again.idempotencyKey = "order-1"
        do {
            try await self.harness.tasks.insert([again, self.finished(type, hoursAgo: 0, now: now)])
            XCTFail("a taken key was taken again")
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, .duplicateKey)
        }
        var otherTenant = self.finished(type, hoursAgo: 0, now: now)
        otherTenant.idempotencyKey = "order-1"
        otherTenant.tenant = "team-keys"
        try await self.harness.tasks.insert([otherTenant])
        let count = try await self.harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)]).first?.int("n")
        XCTAssertEqual(count, 2, "the refused batch inserted nothing")
        let found = try await self.harness.tasks.tasks(idempotencyKeys: [(Tenant.default, type, "order-1"), ("team-keys", type, "order-1")])
        XCTAssertEqual(Set(found.map(\.taskID)), [old.taskID, otherTenant.taskID])
        let listed = try await self.harness.tasks.list(TaskQuery(taskType: type, idempotencyKey: "order-1", tenant: "team-keys"), afterID: nil, limit: 10)
        XCTAssertEqual(listed.map(\.taskID), [otherTenant.taskID])

        let gone = try await self.janitor(now: now).passOnce()
        XCTAssertGreaterThanOrEqual(gone, 1)
        let keys = try await self.harness.mysql.query("SELECT tenant FROM task_idempotency WHERE task_type = ?", [.string(type)]).compactMap { $0.string("tenant") }
        XCTAssertEqual(keys, ["team-keys"], "the deleted task's key went with it")
        try await self.harness.tasks.insert([again])
    }

    /// The cutoff is checked again when deleting: a task whose type's
    /// retention grew, or that was retried, since the janitor read it stays.
    func testRetentionRechecksTheCutoffWhenDeleting() async throws {
        let type = try await self.harness.type("recheck")
        try await self.retention(type, hours: 1)
        let now = Date().roundedToMicroseconds
        let rows = [self.finished(type, hoursAgo: 2, now: now), self.finished(type, hoursAgo: 2, now: now), self.finished(type, hoursAgo: 2, now: now, status: .failed)]
        try await self.harness.tasks.insert(rows)
        let due = try await self.harness.tasks.expired(taskType: type, before: now.addingTimeInterval(-3600), afterID: "", limit: 10)
        XCTAssertEqual(Set(due), Set(rows.map(\.taskID)))
        let rule = Retention(defaultHours: 168)
        // Kept ten hours now: none is due any more.
        try await self.retention(type, hours: 10)
        let none = try await self.harness.tasks.deleteExpired(due, taskType: type, retention: rule, now: now)
        XCTAssertEqual(none, 0)
        // Back to an hour, and the failed one retried meanwhile: the others go.
        try await self.retention(type, hours: 1)
        let retried = try await self.harness.tasks.retry([rows[2].taskID], from: .failed, priority: nil, now: now)
        XCTAssertEqual(retried.count, 1)
        let gone = try await self.harness.tasks.deleteExpired(due, taskType: type, retention: rule, now: now)
        XCTAssertEqual(gone, 2)
        let left = try await self.harness.mysql.query("SELECT task_id FROM task WHERE task_type = ?", [.string(type)]).compactMap { $0.string("task_id") }
        XCTAssertEqual(left, [rows[2].taskID])
    }

    func testEveryListShapeReadsAnIndexRange() async throws {
        let type = try await self.harness.type("plans")
        let now = Date()
        let shapes: [(String, TaskQuery)] = [
            ("newest", TaskQuery()),
            ("oldest", TaskQuery(oldestFirst: true)),
            ("type", TaskQuery(taskType: type)),
            ("unfinished", TaskQuery(statuses: [.queued, .running])),
            ("dead letters", TaskQuery(statuses: [.failed, .timeout])),
            ("succeeded", TaskQuery(statuses: [.succeeded])),
            ("type and statuses", TaskQuery(statuses: [.failed], taskType: type)),
            ("created range", TaskQuery(createdAfter: now.addingTimeInterval(-60), createdBefore: now)),
            ("type and range", TaskQuery(taskType: type, createdAfter: now.addingTimeInterval(-60), oldestFirst: true)),
            ("worker and range", TaskQuery(createdAfter: now.addingTimeInterval(-60), workerID: "w1")),
            ("idempotency key", TaskQuery(taskType: type, idempotencyKey: "k")),
            ("worker and type", TaskQuery(taskType: type, workerID: "w1")),
            ("worker and status", TaskQuery(statuses: [.succeeded], workerID: "w1")),
            ("tenant", TaskQuery(tenant: "team-a")),
            ("tenant, oldest", TaskQuery(oldestFirst: true, tenant: "team-a")),
            ("tenant and type", TaskQuery(taskType: type, tenant: "team-a")),
            ("tenant and dead letters", TaskQuery(statuses: [.failed], tenant: "team-a")),
            ("tenant and key", TaskQuery(taskType: type, idempotencyKey: "k", tenant: "team-a")),
            ("tenant and range", TaskQuery(createdAfter: now.addingTimeInterval(-60), tenant: "team-a")),
        ]
        // Several statuses or every tenant's: merged ranges, checked in
        // testStatusFiltersReadOrderedRangesAndATenantOnlyItsRows.
        for (name, query) in shapes where !TaskStore.readsStatusRanges(query) || (query.tenant != nil && query.statuses.count == 1) {
            for afterID in [nil, TaskID.make()] {
                let (sql, binds) = TaskStore.listQuery(query, afterID: afterID, limit: 101)
                let plan = try await self.harness.mysql.query("EXPLAIN " + sql, binds)
                // A key's lookup is two reads: its key rows, then its tasks by id.
                XCTAssertEqual(plan.count, TaskStore.isKeyLookup(query) ? 2 : 1, "\(name): \(plan.map { $0.string("table") ?? "-" })")
                for read in plan {
                    XCTAssertNotEqual(read.string("type"), "ALL", "\(name): a table scan")
                    // A lookup finding nothing is resolved before the plan: no key shows.
                    let resolved = (read.string("Extra") ?? "").contains("noticed after reading const tables")
                    XCTAssertTrue(read.string("key") != nil || resolved, "\(name): no index")
                }
            }
        }
        // Bulk and retention pages read the status index, in its order.
        let (pageSQL, pageBinds) = TaskStore.pageQuery(
            TaskQuery(), status: .failed, after: .init(tenant: "team-a", taskID: TaskID.make()), before: now, limit: 500, columns: "task_id, tenant"
        )
        let page = try await self.harness.mysql.query("EXPLAIN " + pageSQL, pageBinds)
        XCTAssertEqual(page.first?.string("key"), TaskStore.statusIndex)
        XCTAssertEqual(page.first?.string("type"), "range")
        XCTAssertFalse((page.first?.string("Extra") ?? "").contains("filesort"))
        // Retention: the next type present, one index dive; a type's due rows, a range of its ids.
        let types = try await self.harness.mysql.query("EXPLAIN " + TaskStore.nextTaskTypeQuery, [.string(type)])
        XCTAssertEqual(types.first?.string("key"), "idx_task_type_id")
        XCTAssertEqual(types.first?.string("type"), "range")
        XCTAssertFalse((types.first?.string("Extra") ?? "").contains("filesort"))
        let (expired, expiredBinds) = TaskStore.expiredQuery(taskType: type, before: now, afterID: "", limit: 100)
        let expiredPlan = try await self.harness.mysql.query("EXPLAIN " + expired, expiredBinds)
        XCTAssertEqual(expiredPlan.first?.string("key"), "idx_task_type_id")
        XCTAssertEqual(expiredPlan.first?.string("type"), "range")
        // The dashboard's dead letters: the newest of a status, backwards
        // along each tenant's range of the status index (no sort of a
        // range), then only those rows.
        for tenants in [["team-a"], ["team-a", "team-b"]] {
            let (sql, binds) = TaskStore.latestDeadQuery(status: .failed, tenants: tenants, limit: 1_000)
            let plan = try await self.harness.mysql.query("EXPLAIN " + sql, binds)
            let ranges = plan.filter { $0.string("key") == TaskStore.statusIndex }
            XCTAssertEqual(ranges.count, tenants.count, "one range per tenant: \(plan.map { $0.string("key") ?? "-" })")
            XCTAssertFalse(ranges.contains { ($0.string("Extra") ?? "").contains("filesort") }, "a range sorted apart from the index")
            XCTAssertFalse(plan.contains { $0.string("type") == "ALL" && $0.string("table") == "t" }, "no scan of the table")
        }
    }

    /// A tenant's status filter is an ordered range of its own rows (never a
    /// sort, never another tenant's rows): the index leads with the tenant,
    /// and the tenant is part of the range (key_len). Every tenant's status
    /// list reads each tenant's range the same way and sorts only the first
    /// ids of each (an index of (status, task_id) cost CreateTask too much;
    /// see 007_tenant_indexes.sql).
    func testStatusFiltersReadOrderedRangesAndATenantOnlyItsRows() async throws {
        let type = try await self.harness.type("status_plans")
        for (name, query, index) in [
            ("tenant's failed", TaskQuery(statuses: [.failed], tenant: "team-a"), TaskStore.statusIndex),
            ("tenant's timeouts, oldest", TaskQuery(statuses: [.timeout], oldestFirst: true, tenant: "team-a"), TaskStore.statusIndex),
        ] as [(String, TaskQuery, String)] {
            for afterID in [nil, TaskID.make()] {
                let (sql, binds) = TaskStore.listQuery(query, afterID: afterID, limit: 101)
                let plan = try await self.harness.mysql.query("EXPLAIN " + sql, binds)
                XCTAssertEqual(plan.first?.string("key"), index, name)
                XCTAssertFalse((plan.first?.string("Extra") ?? "").contains("filesort"), "\(name): \(plan.first?.string("Extra") ?? "")")
                if query.tenant != nil {
                    // tenant (64 ascii + 2 length bytes) and status (a TINYINT): the range holds the tenant's rows only.
                    XCTAssertGreaterThanOrEqual(Int(plan.first?.string("key_len") ?? "") ?? 0, 67, "\(name) ranges over the tenant")
                }
            }
        }

        // Every tenant's: the tenants, a dive each, then each tenant's range
        // in order, merged.
        for after in ["", "team-a"] {
            let plan = try await self.harness.mysql.query("EXPLAIN " + TaskStore.nextTenantQuery, [.int(Int64(TaskStatus.failed.rawValue)), .string(after)])
            XCTAssertEqual(plan.first?.string("key"), TaskStore.statusIndex)
            XCTAssertEqual(plan.first?.string("type"), "range")
            XCTAssertFalse((plan.first?.string("Extra") ?? "").contains("filesort"))
        }
        let ranges = [StatusRange(tenant: "team-a", status: .failed), StatusRange(tenant: "team-b", status: .timeout)]
        for afterID in [nil, TaskID.make()] {
            let (sql, binds) = TaskStore.mergedRangesQuery(TaskQuery(statuses: [.failed, .timeout]), ranges: ranges, afterID: afterID, limit: 101)
            let plan = try await self.harness.mysql.query("EXPLAIN " + sql, binds)
            let reads = plan.filter { $0.string("table") == "task" }
            XCTAssertEqual(reads.count, 2, "one read per range: \(plan.map { $0.string("table") ?? "-" })")
            for read in reads {
                XCTAssertEqual(read.string("key"), TaskStore.statusIndex)
                XCTAssertFalse((read.string("Extra") ?? "").contains("filesort"), "a range sorted: \(read.string("Extra") ?? "")")
                XCTAssertGreaterThanOrEqual(Int(read.string("key_len") ?? "") ?? 0, 67, "the range holds one tenant's status")
            }
        }

        // Several statuses: one ordered range each, merged, in the API's order across pages.
        let created = try await self.harness.create(5, type: type).map(\.taskID)
        for (id, status) in zip(created, [TaskStatus.failed, .timeout, .failed, .queued, .timeout]) {
            try await self.harness.mysql.execute("UPDATE task SET status = ? WHERE task_id = ?", [.int(Int64(status.rawValue)), .string(id)])
        }
        let failedOrTimedOut = created.enumerated().filter { $0.offset != 3 }.map(\.element).sorted()
        let query = TaskQuery(statuses: [.failed, .timeout], taskType: type)
        let first = try await self.harness.tasks.list(query, afterID: nil, limit: 3).map(\.taskID)
        let rest = try await self.harness.tasks.list(query, afterID: first.last, limit: 3).map(\.taskID)
        XCTAssertEqual(first + rest, failedOrTimedOut.reversed())
        var oldest = query
        oldest.oldestFirst = true
        let oldestListed = try await self.harness.tasks.list(oldest, afterID: nil, limit: 10).map(\.taskID)
        XCTAssertEqual(oldestListed, failedOrTimedOut)

        // A group retry's stretch: a LIMITed range of the status index, then its rows by primary key.
        // Every tenant's statuses, across pages and in both orders.
        let spread = try await self.harness.create(9, type: type).map(\.taskID)
        let tenantsOf = ["team-a", "team-b", "team-c"]
        for (n, id) in spread.enumerated() {
            let status: TaskStatus = [.failed, .timeout, .queued][n % 3 == 2 ? 2 : n % 2]
            try await self.harness.mysql.execute(
                "UPDATE task SET status = ?, tenant = ? WHERE task_id = ?",
                [.int(Int64(status.rawValue)), .string(tenantsOf[(n / 3) % 3]), .string(id)]
            )
        }
        let everyTenants = TaskQuery(statuses: [.failed, .timeout], taskType: type)
        let expected = try await self.harness.mysql.query(
            "SELECT task_id FROM task WHERE task_type = ? AND status IN (?, ?) ORDER BY task_id DESC",
            [.string(type)] + TaskStore.statusValues([.failed, .timeout])
        ).compactMap { $0.string("task_id") }
        XCTAssertEqual(Set(expected.compactMap { id in spread.contains(id) ? id : nil }).count, 6)
        var listed: [String] = []
        var after: String?
        repeat {
            let page = try await self.harness.tasks.list(everyTenants, afterID: after, limit: 4).map(\.taskID)
            listed += page
            after = page.count == 4 ? page.last : nil
        } while after != nil
        XCTAssertEqual(listed, expected)
        var everyOldest = everyTenants
        everyOldest.oldestFirst = true
        let oldestAcross = try await self.harness.tasks.list(everyOldest, afterID: nil, limit: 100).map(\.taskID)
        XCTAssertEqual(oldestAcross, expected.reversed())

        let (sql, binds) = TaskStore.examineQuery(status: .failed, taskType: type, tenant: nil, after: nil, before: Date(), limit: 500)
        let plan = try await self.harness.mysql.query("EXPLAIN " + sql, binds)
        XCTAssertTrue(plan.contains { $0.string("key") == TaskStore.statusIndex }, "the examined range: \(plan.map { $0.string("key") ?? "-" })")
        XCTAssertTrue(plan.contains { $0.string("key") == "PRIMARY" }, "the rows joined by id")
        XCTAssertFalse(plan.contains { $0.string("type") == "ALL" && $0.string("table") == "t" }, "no scan of the table")
    }
}

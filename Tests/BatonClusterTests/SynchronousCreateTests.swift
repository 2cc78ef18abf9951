import BatonAuth
import BatonBroker
import BatonModel
import BatonProto
@testable import BatonService
import BatonStore
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// CreateTask with `wait_seconds` against a live dispatcher and worker: the
/// call answers with the task once it is terminal, or as it stands when the
/// wait runs out, and a waiting call learns of changes as WatchTask does
/// (announcements and shared reads), never by polling MariaDB.
final class SynchronousCreateTests: XCTestCase {
    private var harness: WorkerHarness!

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 4, gracePeriod: .milliseconds(300)) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// A node's service on the harness's stores and event hub. Its fallback
    /// re-read (for a lost announcement) is far beyond the tests' waits: only
    /// the announcements can end a wait early.
    private func service(watchLimits: WatchLimits = WatchLimits()) -> TaskService {
        TaskService(
            nodeID: "test", tasks: self.harness.base.tasks, configs: self.harness.cache, broker: self.harness.base.broker,
            hub: self.harness.hub, watchLimits: watchLimits, logger: self.harness.base.logger, watchFallback: .seconds(60)
        )
    }

    private static func create(
        _ service: TaskService, _ type: String, wait: Int32, payload: [String: String] = [:], key: String = "", runAt: Date? = nil
    ) async throws -> (response: Baton_V1_CreateTaskResponse, took: Duration) {
        let started = ContinuousClock.now
        let response = try await Caller.$current.withValue(.open) {
            try await service.createTask(.with {
                $0.taskType = type
                $0.payload = payload
                $0.idempotencyKey = key
                $0.waitSeconds = wait
                if let runAt { $0.runAt = .init(date: runAt) }
            })
        }
        return (response, ContinuousClock.now - started)
    }

    private func rows(_ type: String) async throws -> Int {
        try await Self.rows(type, in: self.harness)
    }

    private static func rows(_ type: String, in harness: WorkerHarness) async throws -> Int {
        try await harness.base.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)]).first?.int("n") ?? -1
    }

    func testATaskThatSucceedsWithinTheWaitIsAnsweredSucceededWithItsResult() async throws {
        let type = try await self.harness.type("wait_ok", handler: "echo")
        let (response, took) = try await Self.create(self.service(), type, wait: 30, payload: ["to": "ops"])
        XCTAssertEqual(response.task.status, .succeeded)
        XCTAssertEqual(response.task.result, #"{"to":"ops"}"#)
        XCTAssertFalse(response.deduplicated)
        XCTAssertTrue(response.task.hasFinishedAt)
        XCTAssertLessThan(took, .seconds(5), "the worker's announcement ended the wait, not the 60 s fallback")
    }

    func testAFailingTaskIsAnsweredFailed() async throws {
        let type = try await self.harness.type("wait_fail", handler: "fail", retries: 0)
        let (response, took) = try await Self.create(self.service(), type, wait: 30, payload: ["message": "no luck"])
        XCTAssertEqual(response.task.status, .failed)
        XCTAssertTrue(response.task.error.contains("no luck"), response.task.error)
        XCTAssertLessThan(took, .seconds(5))
    }

    func testALongTaskIsAnsweredAsItStandsWhenTheWaitRunsOut() async throws {
        let type = try await self.harness.type("wait_long", handler: "sleep")
        let (response, took) = try await Self.create(self.service(), type, wait: 2, payload: ["ms": "20000"])
        XCTAssertEqual(response.task.status, .running, "the worker started it at once; it runs 20 s")
        XCTAssertGreaterThanOrEqual(took, .milliseconds(1990))
        XCTAssertLessThan(took, .seconds(4))
        // A task that may not start yet: QUEUED when the wait runs out.
        let (later, tookLater) = try await Self.create(self.service(), type, wait: 1, runAt: Date().addingTimeInterval(3600))
        XCTAssertEqual(later.task.status, .queued)
        XCTAssertGreaterThanOrEqual(tookLater, .milliseconds(990))
        for id in [response.task.taskID, later.task.taskID] {
            _ = try await Caller.$current.withValue(.open) { try await self.service().cancelTask(.with { $0.taskID = id }) }
        }
    }

    func testADeduplicatedRepeatWaitsForTheExistingTask() async throws {
        let type = try await self.harness.type("wait_dedup", handler: "sleep")
        let service = self.service()
        let (first, _) = try await Self.create(service, type, wait: 0, payload: ["ms": "1500"], key: "order-7")
        XCTAssertNotEqual(first.task.status, .succeeded)
        let (repeated, took) = try await Self.create(service, type, wait: 30, payload: ["ms": "1500"], key: "order-7")
        XCTAssertTrue(repeated.deduplicated)
        XCTAssertEqual(repeated.task.taskID, first.task.taskID)
        XCTAssertEqual(repeated.task.status, .succeeded)
        XCTAssertGreaterThan(took, .milliseconds(500), "it waited for the task's end")
        // Repeated once it is finished: answered at once.
        let (again, tookAgain) = try await Self.create(service, type, wait: 30, key: "order-7")
        XCTAssertEqual(again.task.status, .succeeded)
        XCTAssertLessThan(tookAgain, .seconds(1))
        let count = try await self.rows(type)
        XCTAssertEqual(count, 1)
    }

    func testCancellingTheCallerEndsTheWaitAndFreesItsPlace() async throws {
        let type = try await self.harness.type("wait_cancel", handler: "sleep")
        let service = self.service()
        let request = Baton_V1_CreateTaskRequest.with {
            $0.taskType = type
            $0.payload = ["ms": "20000"]
            $0.waitSeconds = 60
        }
        let call = Task { try await Caller.$current.withValue(.open) { try await service.createTask(request) } }
        let harness = self.harness!
        let waiting = try await TestEnvironment.waitUntil { try await Self.rows(type, in: harness) == 1 && service.watchers.openCount == 1 }
        XCTAssertTrue(waiting)
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        call.cancel()
        do {
            _ = try await call.value
            XCTFail("a cancelled wait answered")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .cancelled)
        }
        XCTAssertLessThan(ContinuousClock.now - cancelled, .seconds(1))
        XCTAssertEqual(service.watchers.openCount, 0)
        // The task stays: only the wait ended (its start is written once it outlasts the deferred-start window).
        let stays = try await TestEnvironment.waitUntil(timeout: .seconds(3)) {
            let stored = try await harness.base.mysql.query("SELECT status FROM task WHERE task_type = ?", [.string(type)]).first?.int("status")
            return stored.flatMap { TaskStatus(rawValue: $0) } == .running
        }
        XCTAssertTrue(stays, "the task runs on")
    }

    func testBadWaitsAreRefusedAndCreateNothing() async throws {
        let type = try await self.harness.type("wait_bad", handler: "echo")
        let service = self.service()
        for wait: Int32 in [-1, 301, .max] {
            do {
                _ = try await Self.create(service, type, wait: wait)
                XCTFail("wait_seconds \(wait) was taken")
            } catch let error as RPCError {
                XCTAssertEqual(error.code, .invalidArgument)
                XCTAssertEqual(error.message, "wait_seconds must be 0-300 (0: answer at once), got \(wait)")
            }
        }
        do {
            _ = try await Caller.$current.withValue(.open) {
                try await service.batchCreateTasks(.with {
                    $0.tasks = [.with { $0.taskType = type }, .with { $0.taskType = type; $0.waitSeconds = 5 }]
                })
            }
            XCTFail("a batch item's wait_seconds was taken")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertTrue(error.message.hasPrefix("tasks[1].wait_seconds: BatchCreateTasks does not wait"), error.message)
        }
        let count = try await self.rows(type)
        XCTAssertEqual(count, 0)
        XCTAssertEqual(service.watchers.openCount, 0)
    }

    /// The limits of WatchTask bound waiting creates too (they share them):
    /// past a limit a create that would wait is refused before it creates
    /// anything; one that does not wait is not limited.
    func testWaitsShareTheWatchLimitsAndARefusalCreatesNothing() async throws {
        let type = try await self.harness.type("wait_limit", handler: "sleep")
        let service = self.service(watchLimits: WatchLimits(perNode: 2, perKey: 2))
        let (probe, _) = try await Self.create(service, type, wait: 0, payload: ["ms": "1"])
        let request = Baton_V1_CreateTaskRequest.with {
            $0.taskType = type
            $0.payload = ["ms": "20000"]
            $0.waitSeconds = 3
        }
        let held = (0..<2).map { _ in Task { try await Caller.$current.withValue(.open) { try await service.createTask(request) } } }
        let full = try await TestEnvironment.waitUntil { service.watchers.openCount == 2 }
        XCTAssertTrue(full)
        do {
            _ = try await Self.create(service, type, wait: 3, payload: ["ms": "20000"])
            XCTFail("a third wait was admitted")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .resourceExhausted)
        }
        let watch = await Self.code {
            try await Caller.$current.withValue(.open) { try await service.watchTask(.with { $0.taskID = probe.task.taskID }) { _ in } }
        }
        XCTAssertEqual(watch, .resourceExhausted, "WatchTask is refused too")
        let (unlimited, _) = try await Self.create(service, type, wait: 0, payload: ["ms": "1"])
        XCTAssertFalse(unlimited.task.taskID.isEmpty)
        for call in held { _ = try await call.value }
        let count = try await self.rows(type)
        XCTAssertEqual(count, 4, "the probe, the two that waited and the one that did not wait")
        XCTAssertEqual(service.watchers.openCount, 0)
    }

    /// 200 creates wait at once, 10 s, for tasks that cannot start yet.
    /// Once each has read its task as its wait began, MariaDB is not read
    /// for them until their waits run out (a poll of each every second would
    /// be 400 SELECTs in the 2 s measured), and then once each.
    func testWaitingCallsDoNotPollMariaDB() async throws {
        let type = try await self.harness.type("wait_reads", handler: "echo")
        let service = self.service()
        let waiters = 200
        let runAt = Date().addingTimeInterval(3600)
        let before = try await self.selects()
        let (statuses, settledAt) = try await withThrowingTaskGroup(of: Baton_V1_TaskStatus.self) { group in
            for _ in 0..<waiters {
                group.addTask { try await Self.create(service, type, wait: 10, runAt: runAt).response.task.status }
            }
            // All created and following their task; once their first reads
            // are done the count stands still (waiters that polled would
            // keep it moving).
            let allWaiting = try await TestEnvironment.waitUntil(timeout: .seconds(5)) { service.watchers.followedCount == waiters }
            XCTAssertTrue(allWaiting, "\(service.watchers.followedCount) of \(waiters) waiting")
            var last = try await self.selects()
            let settled = try await TestEnvironment.waitUntil(timeout: .seconds(4), every: .milliseconds(500)) {
                let now = try await self.selects()
                defer { last = now }
                return now == last
            }
            XCTAssertTrue(settled, "SELECTs never stopped while the creates waited")
            let start = try await self.selects()
            try await Task.sleep(for: .seconds(2))
            let during = try await self.selects() - start
            print("\(waiters) waiting creates: \(start - before) SELECTs to create them and begin waiting, \(during) in 2 s of waiting")
            XCTAssertLessThan(during, 20, "SELECTs while \(waiters) creates waited 2 s")
            var statuses: [Baton_V1_TaskStatus] = []
            for try await status in group { statuses.append(status) }
            return (statuses, start)
        }
        XCTAssertEqual(statuses, Array(repeating: .queued, count: waiters))
        let toTheEnd = try await self.selects() - settledAt
        print("\(waiters) waiting creates: \(toTheEnd) SELECTs from then until every wait ran out")
        XCTAssertLessThan(toTheEnd, waiters + 20, "one read as each wait runs out, none before")
    }

    /// The status a call failed with; nil when it succeeded.
    private static func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    /// SELECTs the server has run (all sessions).
    private func selects() async throws -> Int {
        try await self.harness.base.mysql.query("SHOW GLOBAL STATUS LIKE 'Com_select'").first.flatMap { Int($0.string("Value") ?? "") } ?? 0
    }
}

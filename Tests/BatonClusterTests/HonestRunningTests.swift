import BatonBroker
import BatonModel
import BatonMySQL
import BatonStore
import BatonTestSupport
import BatonWorker
import Foundation
import Logging
import ServiceLifecycle
import XCTest

/// RUNNING means running (issue 26, item 1): an attempt reads RUNNING only
/// once it holds an execution slot (give or take the short bound a start
/// write's batch may wait), its timeout counts from its slot, and work a
/// worker cannot start soon goes where a slot is free.
final class HonestRunningTests: XCTestCase {
    private var harness: WorkerHarness!

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 1, gracePeriod: .milliseconds(300)) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// Many instant tasks first, so the worker's start writes take many
    /// attempts beyond its free slot (`Prefetch.burst`).
    private func warmUp() async throws {
        let noop = try await self.harness.type("warm", handler: "noop")
        var ids: [String] = []
        for _ in 0..<60 { ids.append(try await self.harness.create(type: noop).taskID) }
        let harness = self.harness!
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(20)) {
            try await harness.base.mysql.query(
                "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(noop), .int(Int64(TaskStatus.succeeded.rawValue))]
            ).first?.int("n") == ids.count
        }
        XCTAssertTrue(done, "the warm-up ran")
    }

    /// Before: short tasks started in the long one's start write read
    /// RUNNING while it ran, their one-second deadline counting, and ended
    /// TIMEOUT without having run.
    func testAnAttemptWaitingForASlotNeitherReadsRunningNorTimesOut() async throws {
        try await self.warmUp()
        let sleep = try await self.harness.type("sleep", handler: "sleep", timeout: 30)
        let long = try await self.harness.create(type: sleep, payload: ["ms": "3000"], timeout: 30)
        var short: [TaskRecord] = []
        for _ in 0..<4 { short.append(try await self.harness.create(type: sleep, payload: ["ms": "10"], timeout: 1)) }
        let harness = self.harness!
        let began = try await TestEnvironment.waitUntil { try await harness.task(long.taskID).status == .running }
        XCTAssertTrue(began)
        // Past the bound a start write's batch may wait for its slot, while
        // the long task holds the only slot: no short task reads RUNNING.
        try await Task.sleep(for: .milliseconds(800))
        let watchUntil = ContinuousClock.now + .milliseconds(1500)
        while ContinuousClock.now < watchUntil {
            for task in short {
                let now = try await harness.task(task.taskID)
                XCTAssertNotEqual(now.status, .running, "a short task reads RUNNING while the long one holds the only slot")
                XCTAssertNil(now.startedAt, "a handed-back attempt has no start")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let longDone = try await TestEnvironment.waitUntil(timeout: .seconds(15)) { try await harness.task(long.taskID).status == .succeeded }
        XCTAssertTrue(longDone)
        let finished = try await harness.task(long.taskID).finishedAt!
        for task in short {
            let ended = try await TestEnvironment.waitUntil(timeout: .seconds(15)) { try await harness.task(task.taskID).status.isTerminal }
            XCTAssertTrue(ended)
            let now = try await harness.task(task.taskID)
            XCTAssertEqual(now.status, .succeeded, "ran in full after the slot freed: \(now.error ?? "")")
            XCTAssertEqual(now.attempt, 1, "a hand-back does not spend an attempt")
            XCTAssertGreaterThanOrEqual(now.startedAt!, finished.addingTimeInterval(-0.05), "started once the slot was free")
        }
    }

    /// Before: with the only slot of one worker busy for seconds, short
    /// tasks dispatched to it waited there (read RUNNING, or sat on its
    /// queue) while a second worker had a free slot.
    func testWorkHeldByABusyWorkerRunsOnOneWithAFreeSlot() async throws {
        try await self.warmUp()
        let other = try await self.secondWorker()
        let sleep = try await self.harness.type("spread", handler: "sleep", timeout: 30)
        let long = try await self.harness.create(type: sleep, payload: ["ms": "6000"])
        var short: [TaskRecord] = []
        for _ in 0..<8 { short.append(try await self.harness.create(type: sleep, payload: ["ms": "50"])) }
        let harness = self.harness!
        let began = try await TestEnvironment.waitUntil { try await harness.task(long.taskID).status == .running }
        XCTAssertTrue(began)
        let allShortDone = try await TestEnvironment.waitUntil(timeout: .seconds(4)) {
            for task in short where try await harness.task(task.taskID).status != .succeeded { return false }
            return true
        }
        XCTAssertTrue(allShortDone, "short tasks waited behind the long one although another worker had a free slot")
        let longNow = try await harness.task(long.taskID)
        XCTAssertEqual(longNow.status, .running, "the short ones finished while the long one still ran")
        for task in short {
            let attempt = try await harness.task(task.taskID).attempt
            XCTAssertEqual(attempt, 1)
        }
        await other.stop()
    }

    /// A second worker (capacity 1) on the harness's cluster.
    private func secondWorker() async throws -> RunningWorker {
        try await self.harness.anotherWorker(nodeID: "test-2", workerID: "\(self.harness.base.prefix)-worker-2", capacity: 1)
    }
}

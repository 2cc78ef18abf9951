import BatonAuth
import BatonBroker
import BatonModel
import BatonProto
@testable import BatonService
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// Bulk calls against a live dispatcher and worker: every task that matched
/// the filter when the call began is dealt with, whatever it did meanwhile.
final class BulkCallRaceTests: XCTestCase {
    private var harness: WorkerHarness!

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 4, gracePeriod: .milliseconds(300)) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private func service() -> TaskService {
        TaskService(nodeID: "test", tasks: self.harness.base.tasks, configs: self.harness.cache, broker: self.harness.base.broker, hub: EventHub(),
                    logger: self.harness.base.logger)
    }

    private func count(_ type: String, in statuses: [TaskStatus]) async throws -> Int {
        try await self.harness.base.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))",
            [.string(type)] + statuses.map { .int(Int64($0.rawValue)) }
        ).first?.int("n") ?? -1
    }

    /// Tasks are dispatched and started while the call is under way (held
    /// up by a row lock on the first task it changes); those at the head of
    /// the queue are the last the status walk reaches. Afterwards none that
    /// matched runs or waits, and none started after the call returned.
    func testABulkCancelLeavesNoMatchedTaskRunningOrWaiting() async throws {
        let harness = self.harness!
        let type = try await harness.type("bulkrace", handler: "sleep")
        // The walk goes along (status, tenant, task_id): r0, r1, …; the
        // queue holds them in the opposite order, so the walk meets the
        // queue's head last, and is held up at its first row.
        let count = 1200
        let base = Date().addingTimeInterval(-60).roundedToMicroseconds
        let records = (0..<count).map { index in
            let at = base.addingTimeInterval(-Double(index) / 1000)
            return TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: ["ms": "20000"], status: .queued,
                              maxRetries: 0, timeoutSeconds: 30, createdAt: at, updatedAt: at)
        }
        try await harness.base.tasks.insert(records)
        let walk = records.sorted { $0.taskID < $1.taskID }
        let holder = try await harness.base.holdTask(walk[0].taskID, for: .seconds(60))
        let service = self.service()
        let call = Task {
            try await Caller.$current.withValue(.open) {
                try await service.bulkCancelTasks(.with {
                    $0.filter = .with { $0.taskType = type }
                    $0.reason = "wrong batch"
                })
            }
        }
        let response: Baton_V1_BulkTasksResponse
        do {
            // The call waits on the held row (its cancel statement stays in
            // the process list); the dispatcher now takes the queue's head.
            let waiting = try await TestEnvironment.waitUntil(timeout: .seconds(20)) {
                try await harness.base.mysql.query(
                    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE task FORCE INDEX (PRIMARY) SET status = %, error = %'"
                ).first?.int("n") ?? 0 > 0
            }
            XCTAssertTrue(waiting, "the bulk call never reached the held row")
            try await harness.base.broker.enqueue(walk.reversed())
            let started = try await TestEnvironment.waitUntil(timeout: .seconds(20)) { try await self.count(type, in: [.running]) >= 4 }
            XCTAssertTrue(started, "the worker started nothing")
            holder.cancel()
            _ = try? await holder.value
            response = try await call.value
        } catch {
            holder.cancel()
            call.cancel()
            throw error
        }
        let returned = Date()

        XCTAssertEqual(response.matched, Int64(count))
        let left = try await self.count(type, in: TaskStatus.nonTerminal)
        XCTAssertEqual(left, 0, "tasks that matched still run or wait")
        // The worker lets go of what it held, and the dispatcher of the rest.
        let settled = try await TestEnvironment.waitUntil(timeout: .seconds(30)) {
            let snapshot = try await harness.base.broker.snapshot()
            return snapshot.queueNormal == 0 && snapshot.workers.allSatisfy { $0.running == 0 }
        }
        XCTAssertTrue(settled)
        let late = try await harness.base.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND started_at > ?", [.string(type), .date(returned)]
        ).first?.int("n")
        XCTAssertEqual(late, 0, "a matched task started after the call returned")
        let cancelled = try await self.count(type, in: [.cancelled])
        XCTAssertEqual(cancelled, count)
    }
}

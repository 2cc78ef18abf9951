import BatonBroker
import BatonModel
import BatonStore
import BatonTestSupport
@testable import BatonWorker
import Foundation
import XCTest

/// Outcomes gathered while the recorder is busy go out together; each caller
/// learns whether its own write applied, and the entries are acknowledged.
final class OutcomeRecorderTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// Puts tasks in flight on `worker` and starts them, as the worker's consumer would.
    private func inFlight(_ count: Int, type: String, worker: String) async throws -> [TaskRecord] {
        let created = try await self.harness.create(count, type: type)
        for _ in created {
            try await self.harness.inspector.moveHead(from: .queue(.normal), to: .inFlight(worker))
        }
        return try await self.harness.tasks.start(created.map(\.taskID), workerID: worker, now: Date().roundedToMicroseconds)
    }

    /// Twenty distinct 1 MB results at once would make a 20 MB statement,
    /// past MariaDB's 16 MiB packet limit: groups are cut by bytes, and a
    /// small outcome beside them is written too.
    func testLargeResultsAreSplitAcrossGroupsBelowThePacketLimit() async throws {
        let type = try await self.harness.type("large")
        let worker = "\(self.harness.prefix)-w"
        let running = try await self.inFlight(21, type: type, worker: worker)
        let recorder = OutcomeRecorder(workerID: worker, tasks: self.harness.tasks, broker: self.harness.broker, logger: self.harness.logger)
        let megabyte = String(repeating: "x", count: 1 << 20)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for (index, task) in running.enumerated() {
                group.addTask {
                    let result = index == 20 ? "small" : "\(index)" + megabyte
                    let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: .succeeded, result: result, tenant: Tenant.default)
                    return try await recorder.record(.init(attempt: attempt, entry: QueueEntry(task), retryDue: 0, lease: Date().addingTimeInterval(20)))
                }
            }
            let writer = Task { await recorder.run() }
            var applied = 0
            for try await result in group where result { applied += 1 }
            writer.cancel()
            await writer.value
            XCTAssertEqual(applied, 21)
        }
        for (index, task) in running.enumerated() {
            let row = try await self.harness.tasks.task(task.taskID)
            XCTAssertEqual(row?.status, .succeeded)
            XCTAssertEqual(row?.result?.count, index == 20 ? 5 : (1 << 20) + "\(index)".count)
        }
    }

    func testOutcomesRecordedBeforeTheRecorderRunsGoOutTogether() async throws {
        let type = try await self.harness.type("recorder")
        let worker = "\(self.harness.prefix)-w"
        let running = try await self.inFlight(40, type: type, worker: worker)
        XCTAssertEqual(running.count, 40)
        // One of them was cancelled meanwhile: its write does not apply, its entry is still acknowledged.
        let cancelled = running[7].taskID
        _ = try await self.harness.tasks.cancel(cancelled, reason: "user")

        let recorder = OutcomeRecorder(workerID: worker, tasks: self.harness.tasks, broker: self.harness.broker, logger: self.harness.logger)
        try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for task in running {
                group.addTask {
                    let attempt = FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: .succeeded, result: "ok", tenant: Tenant.default)
                    return (task.taskID, try await recorder.record(.init(attempt: attempt, entry: QueueEntry(task), retryDue: 0, lease: .distantFuture)))
                }
            }
            // The writer starts after the outcomes queued up.
            let writer = Task { await recorder.run() }
            var applied: [String: Bool] = [:]
            for try await (id, result) in group { applied[id] = result }
            await recorder.flush(timeout: .seconds(5))
            writer.cancel()
            await writer.value
            XCTAssertEqual(applied.count, 40)
            XCTAssertEqual(applied.filter { !$0.value }.map(\.key), [cancelled])
        }
        for task in running where task.taskID != cancelled {
            let row = try await self.harness.tasks.task(task.taskID)
            XCTAssertEqual(row?.status, .succeeded)
            XCTAssertEqual(row?.result, "ok")
        }
        let cancelledRow = try await self.harness.tasks.task(cancelled)
        XCTAssertEqual(cancelledRow?.status, .cancelled)
        let left = try await self.harness.inspector.members(.inFlight(worker))
        XCTAssertEqual(left, [], "every entry is acknowledged")
    }

    func testARetryIsScheduledOnlyWhenItsWriteApplied() async throws {
        let type = try await self.harness.type("retry", retries: 3)
        let worker = "\(self.harness.prefix)-w"
        let running = try await self.inFlight(1, type: type, worker: worker)
        let recorder = OutcomeRecorder(workerID: worker, tasks: self.harness.tasks, broker: self.harness.broker, logger: self.harness.logger)
        let writer = Task { await recorder.run() }
        defer { writer.cancel() }
        let due = Int64(Date().addingTimeInterval(60).timeIntervalSince1970 * 1000)
        let attempt = FinishedAttempt(taskID: running[0].taskID, attempt: 1, status: .retrying, error: "later", tenant: Tenant.default)
        let applied = try await recorder.record(.init(attempt: attempt, entry: QueueEntry(running[0]), retryDue: due, lease: .distantFuture))
        XCTAssertTrue(applied)
        await recorder.flush(timeout: .seconds(5))
        // The retry waits as the entry of the task's next generation.
        let delayed = try await self.harness.inspector.score(of: QueueEntry(running[0]).next.member, in: .delayed)
        XCTAssertEqual(delayed, due)

        // The same outcome again (a duplicate) changes nothing and schedules nothing more.
        try await self.harness.inspector.remove(QueueEntry(running[0]).next.member, from: .delayed)
        let again = try await recorder.record(.init(attempt: attempt, entry: QueueEntry(running[0]), retryDue: due, lease: .distantFuture))
        XCTAssertFalse(again)
        await recorder.flush(timeout: .seconds(5))
        let count = try await self.harness.inspector.count(.delayed)
        XCTAssertEqual(count, 0)
    }

    func testAStoppedRecorderRefusesOutcomes() async throws {
        let recorder = OutcomeRecorder(workerID: "nobody", tasks: self.harness.tasks, broker: self.harness.broker, logger: self.harness.logger)
        let writer = Task { await recorder.run() }
        writer.cancel()
        await writer.value
        let attempt = FinishedAttempt(taskID: TaskID.make(), attempt: 1, status: .succeeded, tenant: Tenant.default)
        let entry = QueueEntry(member: "0|\(attempt.taskID)|x")!
        do {
            _ = try await recorder.record(.init(attempt: attempt, entry: entry, retryDue: 0, lease: .distantFuture))
            XCTFail("a stopped recorder must refuse")
        } catch is CancellationError {}
    }
}

import BatonBroker
import BatonModel
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// Finished tasks are counted as they finish (GetStats reads the counts, not
/// the table), and the leader's recount repairs any drift.
final class FinishedCountsTests: XCTestCase {
    func testCountsFollowFinishingTasksAndARecountRepairsThem() async throws {
        let harness = try await WorkerHarness(capacity: 4, gracePeriod: .milliseconds(300))
        let broker = harness.base.broker
        let recounter = StatsRecounter(broker: broker, tasks: harness.base.tasks, logger: harness.base.logger)
        try await recounter.recountOnce()
        let before = try await broker.finishedCounts() ?? [:]

        let ok = try await harness.type("ok", handler: "echo")
        let bad = try await harness.type("bad", handler: "fail")
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await harness.create(type: ok).taskID) }
        ids.append(try await harness.create(type: bad).taskID)
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            var finished = 0
            for id in ids where try await harness.task(id).status.isTerminal { finished += 1 }
            return finished == ids.count
        }
        XCTAssertTrue(done)
        // A queued task cancelled as CancelTask does.
        let sleeper = try await harness.type("later", handler: "sleep")
        let waiting = try await harness.base.create(1, type: sleeper, runAt: Date().addingTimeInterval(3600))[0]
        let (cancelled, applied) = try await harness.base.tasks.cancel(waiting.taskID, reason: "test")
        XCTAssertTrue(applied)
        try await broker.cancel(cancelled!)

        let counted = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
            let now = try await broker.finishedCounts() ?? [:]
            return (now[.succeeded] ?? 0) - (before[.succeeded] ?? 0) == 3 && (now[.failed] ?? 0) - (before[.failed] ?? 0) == 1
                && (now[.cancelled] ?? 0) - (before[.cancelled] ?? 0) == 1
        }
        let after = try await broker.finishedCounts() ?? [:]
        XCTAssertTrue(counted, "counts \(after) from \(before)")

        // Drift (a lost increment, a lost hash) is repaired by the recount.
        try await broker.setFinishedCounts([.succeeded: 999_999])
        try await recounter.recountOnce()
        let recounted = try await broker.finishedCounts()
        let truth = try await harness.base.tasks.counts(statuses: TaskStatus.allCases.filter(\.isTerminal))
        for status in TaskStatus.allCases where status.isTerminal {
            XCTAssertEqual(recounted?[status] ?? 0, truth[status] ?? 0, "\(status)")
        }
        try await harness.shutdown()
    }
}

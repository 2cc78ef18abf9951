import BatonBroker
import BatonModel
import BatonStore
import BatonTestSupport
import BatonWorker
import Foundation
import ServiceLifecycle
import XCTest

/// Two real workers: A without a handler, B with it. The handler's tasks
/// wait while only A is live (other types flow), and run on B, never on A.
final class AdvertisedTypesEndToEndTests: XCTestCase {
    func testATypeOnlyWorkerBRunsWaitsForBAndNeverGoesToA() async throws {
        let harness = try await WorkerHarness(capacity: 4, gracePeriod: .milliseconds(300))
        let handler = "\(harness.base.prefix)_only_b"
        let special = try await harness.type("special", handler: handler)
        let quick = try await harness.type("quick", handler: "echo")
        // As PutTaskConfig does: the dispatcher knows at once what each type needs.
        for type in [special, quick] {
            try await harness.base.broker.setLimits(TypeLimits(try await harness.base.configs.config(type)!))
        }
        var waiting: [TaskRecord] = []
        for _ in 0..<6 { waiting.append(try await harness.create(type: special)) }
        for _ in 0..<20 { _ = try await harness.create(type: quick) }

        let flowed = try await TestEnvironment.waitUntil(timeout: .seconds(15)) {
            try await self.count(harness, quick, .succeeded) == 20
        }
        XCTAssertTrue(flowed, "other types flow while no live worker runs \(special)")
        let reported = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
            try await harness.base.broker.snapshot().unservedTypes.first { $0.taskType == special }?.parked == 6
        }
        XCTAssertTrue(reported, "GetStats' snapshot names the type and its waiting tasks")
        for task in waiting {
            let row = try await harness.task(task.taskID)
            XCTAssertEqual(row.status, .queued, "waits, never failed")
            XCTAssertEqual(row.attempt, 0)
        }

        // Worker B, which registered the handler, joins.
        let registry = ExecutorRegistry()
        registry.register(handler) { context, _ in context.workerID }
        let workerB = "\(harness.base.prefix)-worker-b"
        let b = try await harness.anotherWorker(nodeID: "node-b", workerID: workerB, capacity: 2, registry: registry)

        let ran = try await TestEnvironment.waitUntil(timeout: .seconds(15)) {
            try await self.count(harness, special, .succeeded) == 6
        }
        XCTAssertTrue(ran, "runs once a worker that runs it is live")
        // More of the type while both are live: all on B, none ever on A.
        for _ in 0..<10 { waiting.append(try await harness.create(type: special)) }
        let allRan = try await TestEnvironment.waitUntil(timeout: .seconds(15)) {
            try await self.count(harness, special, .succeeded) == 16
        }
        XCTAssertTrue(allRan)
        for task in waiting {
            let row = try await harness.task(task.taskID)
            XCTAssertEqual(row.result, workerB)
            XCTAssertEqual(row.attempt, 1, "one attempt: it never reached A")
        }
        let unserved = try await harness.base.broker.snapshot().unservedTypes.map(\.taskType)
        XCTAssertFalse(unserved.contains(special))
        XCTAssertFalse(unserved.contains(quick))

        await b.stop()
        try await harness.shutdown()
    }

    private func count(_ harness: WorkerHarness, _ type: String, _ status: TaskStatus) async throws -> Int {
        let rows = try await harness.base.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(type), .int(Int64(status.rawValue))]
        )
        return Int(rows.first?.int("n") ?? 0)
    }
}

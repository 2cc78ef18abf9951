import BatonModel
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// A type at its limit, in front of the queue, holds back no other work.
final class HeadOfLineTests: XCTestCase {
    func testFortyTasksBehindASaturatedTypeRunWithinSeconds() async throws {
        let harness = try await WorkerHarness(capacity: 4, gracePeriod: .milliseconds(300))
        let saturated = "\(harness.base.prefix)_slow"
        try await harness.base.configs.put(
            TaskConfigRecord(taskType: saturated, executor: .local, endpoint: "sleep", timeoutSeconds: 60, maxRetries: 0,
                             retryBackoffMs: 100, maxConcurrency: 1, rateLimitPerSecond: 0)
        )
        let quick = try await harness.type("quick", handler: "echo")
        // Let the dispatcher copy the limit before the tasks arrive.
        try await Task.sleep(for: .milliseconds(2500))
        var slow: [TaskRecord] = []
        for _ in 0..<4 { slow.append(try await harness.create(type: saturated, payload: ["ms": "30000"])) }
        var behind: [TaskRecord] = []
        for _ in 0..<40 { behind.append(try await harness.create(type: quick)) }
        let started = ContinuousClock.now
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(10), every: .milliseconds(50)) {
            let rows = try await harness.base.tasks.list(TaskQuery(statuses: [.succeeded], taskType: quick), afterID: nil, limit: 100)
            return rows.count == behind.count
        }
        XCTAssertTrue(done, "the tasks behind a saturated type must not wait for it")
        print("40 tasks behind a saturated type done in \(ContinuousClock.now - started)")
        // Its start is written once it outlasts the deferred-start window.
        let one = try await TestEnvironment.waitUntil(timeout: .seconds(2)) {
            try await harness.base.tasks.list(TaskQuery(statuses: [.running], taskType: saturated), afterID: nil, limit: 10).count == 1
        }
        XCTAssertTrue(one, "one of the saturated type runs")
        try await Task.sleep(for: .milliseconds(500))
        let running = try await harness.base.tasks.list(TaskQuery(statuses: [.running], taskType: saturated), afterID: nil, limit: 10)
        XCTAssertEqual(running.count, 1, "max_concurrency 1 still holds")
        try await harness.shutdown()
    }
}

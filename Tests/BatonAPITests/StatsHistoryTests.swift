import BatonModel
@testable import BatonService
import BatonStore
import BatonTestSupport
import Logging
import XCTest

/// The dashboard's history on real stores: samples bounded to the span, and
/// the start latency of every node's worker combined, not only this node's.
final class StatsHistoryTests: XCTestCase {
    func testSamplesCombineEveryNodesStartLatencyAndStayBounded() async throws {
        let harness = try await APIHarness()
        let tasks = TaskStore(mysql: harness.mysql)
        let logger = Logger(label: "history-test")
        let windows = [LatencyWindow(), LatencyWindow()]
        let histories = windows.enumerated().map { index, window in
            StatsHistory(
                nodeID: "node-\(index)", tasks: tasks, broker: harness.broker, startLatency: window, interval: .seconds(1), span: .seconds(3),
                logger: logger
            )
        }
        // Node 0's worker started 100 fast attempts, node 1's 100 slow ones.
        for _ in 0..<100 {
            windows[0].record(2)
            windows[1].record(40)
        }
        await histories[0].sample()
        await histories[1].sample()
        let seen = try XCTUnwrap(histories[1].recent.last?.startLatency, "node 1 sampled a latency")
        XCTAssertEqual(seen.count, 200, "both nodes' attempts")
        XCTAssertEqual(seen.p50, 21, accuracy: 0.001, "the count-weighted median of 2 and 40")
        XCTAssertEqual(seen.p99, 40, "the highest p99")
        XCTAssertEqual(histories[0].recent.last?.startLatency?.count, 100, "node 0 sampled before node 1 published")

        for _ in 0..<5 { await histories[0].sample() }
        XCTAssertEqual(histories[0].recent.count, 3, "15 minutes of samples at most: here span / interval")
        XCTAssertTrue(histories[0].recent.allSatisfy { $0.queueHigh >= 0 && $0.succeeded >= 0 })
        try await harness.shutdown()
    }

    /// A tenant's history holds its own finished counts and throughput, not
    /// every tenant's totals (those are an admin's view).
    func testATenantSeesItsOwnCountsAndThroughput() async throws {
        let harness = try await APIHarness()
        let alpha = TestEnvironment.uniqueName("alpha")
        let beta = TestEnvironment.uniqueName("beta")
        func finish(_ tenant: String, _ status: TaskStatus, _ n: Int64) async throws {
            try await harness.mysql.execute(
                "INSERT INTO task_status_count (tenant, status, shard, n) VALUES (?, ?, 0, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
                [.string(tenant), .int(Int64(status.rawValue)), .int(n)]
            )
        }
        let history = StatsHistory(
            nodeID: "node-0", tasks: TaskStore(mysql: harness.mysql), broker: harness.broker, startLatency: nil, interval: .seconds(1),
            logger: Logger(label: "history-test")
        )
        try await finish(alpha, .succeeded, 5)
        try await finish(beta, .failed, 7)
        await history.sample()
        try await finish(alpha, .succeeded, 10)
        try await finish(alpha, .timeout, 2)
        await history.sample()

        let mine = try XCTUnwrap(history.recent(scope: alpha).last)
        XCTAssertEqual([mine.succeeded, mine.failed], [15, 2], "alpha's own counts")
        XCTAssertGreaterThan(mine.throughput, 0, "alpha finished 12 since the previous sample")
        let theirs = try XCTUnwrap(history.recent(scope: beta).last)
        XCTAssertEqual([theirs.succeeded, theirs.failed], [0, 7])
        XCTAssertEqual(theirs.throughput, 0, "beta finished none meanwhile")
        let nobody = try XCTUnwrap(history.recent(scope: TestEnvironment.uniqueName("gamma")).last)
        XCTAssertEqual([nobody.succeeded, nobody.failed], [0, 0], "a tenant with no tasks sees none")
        let every = history.recent(scope: nil)
        let all = try XCTUnwrap(every.last)
        let allBefore = try XCTUnwrap(every.first)
        XCTAssertEqual([all.succeeded - allBefore.succeeded, all.failed - allBefore.failed], [10, 2], "an admin sees every tenant's")
        XCTAssertEqual(all.queueHigh, mine.queueHigh, "queues are the cluster's, shared")

        try await harness.mysql.execute("DELETE FROM task_status_count WHERE tenant IN (?, ?)", [.string(alpha), .string(beta)])
        try await harness.shutdown()
    }
}

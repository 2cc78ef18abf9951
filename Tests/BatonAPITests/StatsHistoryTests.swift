@testable import BatonAPI
import BatonModel
import BatonStore
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
}

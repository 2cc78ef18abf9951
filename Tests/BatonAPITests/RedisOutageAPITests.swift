import BatonBroker
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// A node whose Redis goes away answers UNAVAILABLE, writes nothing, reports
/// NOT_SERVING, and works again when Redis returns.
final class RedisOutageAPITests: XCTestCase {
    private let server = PrivateServer(.redis, port: 16391, name: "api-redis-outage-test")
    private var port: Int { self.server.port }

    override func tearDown() async throws {
        try self.server.stop()
    }

    func testUnavailableWhileRedisIsDownThenRecovers() async throws {
        try self.server.start()
        let harness = try await APIHarness(redisURL: "redis://127.0.0.1:\(self.port)")
        let type = try await harness.configure("outage")
        // A dead letter to retry while Redis is away.
        let dead = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }.task.taskID
        try await harness.mysql.execute("UPDATE task SET status = 6, attempt = 1, error = 'boom', finished_at = updated_at WHERE task_id = ?", [.string(dead)])
        try await harness.inspector.clear(.queue(.normal))

        try self.server.stop()
        let retry = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.retryTask(.with { $0.taskID = dead }) }
        }
        XCTAssertEqual(retry?.code, .unavailable)
        let still = try await harness.mysql.query("SELECT status, error FROM task WHERE task_id = ?", [.string(dead)])
        XCTAssertEqual(still.first?.int("status"), 6, "a retry that could not be queued changed nothing")
        XCTAssertEqual(still.first?.string("error"), "boom")
        let error = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }
        }
        XCTAssertEqual(error?.code, .unavailable)
        let stats = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.getStats(.init()) }
        }
        XCTAssertEqual(stats?.code, .unavailable)
        let rows = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND task_id <> ?", [.string(type), .string(dead)])
        XCTAssertEqual(rows.first?.int("n"), 0, "a task that never reached a queue must not stay behind")
        // With an idempotency key the row stays: a concurrent request may
        // already have been given it as deduplicated. The reconciler enqueues it.
        let keyed = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in
                try await tasks.createTask(.with { $0.taskType = type; $0.idempotencyKey = "outage-key" })
            }
        }
        XCTAssertEqual(keyed?.code, .unavailable)
        let kept = try await harness.mysql.query("SELECT task_id, status FROM task WHERE task_type = ? AND idempotency_key = ?", [.string(type), .string("outage-key")])
        XCTAssertEqual(kept.count, 1, "a keyed row is never deleted")
        // Health is the background probe's (every 100 ms here): it turns
        // within an interval or two of the outage, not at the call.
        let notServing = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
            try await harness.withRawClient { client in
                try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status
            } == .notServing
        }
        XCTAssertTrue(notServing)

        try self.server.start()
        let recovered = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            (try? await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }) != nil
        }
        XCTAssertTrue(recovered)
        let queued = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(queued, 1)
        // The client's retry with the same key gets the kept task back.
        let again = try await harness.withClient { tasks, _ in
            try await tasks.createTask(.with { $0.taskType = type; $0.idempotencyKey = "outage-key" })
        }
        XCTAssertTrue(again.deduplicated)
        XCTAssertEqual(again.task.taskID, kept.first?.string("task_id"))
        try await harness.shutdown()
    }
}

import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

final class AdminServiceTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws {
        self.harness = try await APIHarness()
    }

    override func tearDown() async throws {
        try await self.harness.shutdown()
    }

    func testPutGetListAndChangeTakesEffect() async throws {
        let harness = self.harness!
        let type = harness.taskType("http")
        let config: Baton_V1_TaskConfig = .with {
            $0.taskType = type
            $0.executor = "http"
            $0.endpoint = "http://127.0.0.1:8089/run"
            $0.timeoutSeconds = 12
            $0.maxRetries = 3
            $0.retryBackoffMs = 250
            $0.maxConcurrency = 4
            $0.rateLimitPerSecond = 50
            $0.enabled = true
            $0.headers = ["X-Team": "payments"]
        }
        let stored = try await harness.withClient { _, admin in try await admin.putTaskConfig(.with { $0.config = config }) }
        XCTAssertEqual(stored.endpoint, config.endpoint)
        XCTAssertTrue(stored.hasUpdatedAt)
        let fetched = try await harness.withClient { _, admin in try await admin.getTaskConfig(.with { $0.taskType = type }) }
        XCTAssertEqual(fetched, stored)
        let listed = try await harness.withClient { _, admin in try await admin.listTaskConfigs(.init()) }
        XCTAssertTrue(listed.configs.contains(stored))
        for builtin in ["echo", "sleep", "fail", "noop"] {
            let config = listed.configs.first { $0.taskType == builtin }
            XCTAssertEqual(config?.executor, "local", builtin)
            XCTAssertEqual(config?.enabled, true, builtin)
        }

        // Tasks take the type's defaults; disabling the type stops creation at once.
        let task = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }
        XCTAssertEqual(task.task.timeoutSeconds, 12)
        XCTAssertEqual(task.task.maxRetries, 3)
        _ = try await harness.withClient { _, admin in
            try await admin.putTaskConfig(.with {
                $0.config = config
                $0.config.enabled = false
            })
        }
        let refused = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }
        }
        XCTAssertEqual(refused?.code, .invalidArgument)

        // The change is announced on the event stream for other nodes.
        let announced = try await harness.inspector.events()
        XCTAssertFalse(announced.isEmpty)
    }

    func testInvalidConfigsAreRejected() async throws {
        let harness = self.harness!
        let type = harness.taskType("bad")
        let base: Baton_V1_TaskConfig = .with {
            $0.taskType = type
            $0.executor = "local"
            $0.timeoutSeconds = 10
            $0.enabled = true
        }
        let cases: [(String, (inout Baton_V1_TaskConfig) -> Void)] = [
            ("executor", { $0.executor = "shell" }),
            ("endpoint", { $0.executor = "http"; $0.endpoint = "ftp://example.com" }),
            ("endpoint", { $0.executor = "http"; $0.endpoint = "/relative" }),
            ("endpoint", { $0.executor = "grpc"; $0.endpoint = "no-port" }),
            ("endpoint", { $0.executor = "grpc"; $0.endpoint = "host:70000" }),
            ("timeout_seconds", { $0.timeoutSeconds = 0 }),
            ("max_retries", { $0.maxRetries = 101 }),
            ("retry_backoff_ms", { $0.retryBackoffMs = -1 }),
            ("max_concurrency", { $0.maxConcurrency = -1 }),
            ("rate_limit_per_second", { $0.rateLimitPerSecond = -1 }),
            ("headers", { $0.headers = ["Bad Header": "v"] }),
            ("headers", { $0.headers = ["X-Ok": "line\r\nbreak"] }),
            ("task_type", { $0.taskType = "'; DROP TABLE task_config; --" }),
        ]
        for (field, mutate) in cases {
            var config = base
            mutate(&config)
            let request = Baton_V1_PutTaskConfigRequest.with { $0.config = config }
            let error = await XCTAssertThrowsRPC {
                _ = try await harness.withClient { _, admin in try await admin.putTaskConfig(request) }
            }
            XCTAssertEqual(error?.code, .invalidArgument, field)
            XCTAssertTrue(error?.message.contains(field) ?? false, "\(field): \(error?.message ?? "")")
        }
        let missing = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { _, admin in try await admin.getTaskConfig(.with { $0.taskType = type }) }
        }
        XCTAssertEqual(missing?.code, .notFound)
        let rows = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task_config WHERE task_type = ?", [.string(type)])
        XCTAssertEqual(rows.first?.int("n"), 0)
    }
}

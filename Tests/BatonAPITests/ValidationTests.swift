import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import XCTest

/// Every validation rule answers INVALID_ARGUMENT naming the field, and writes nothing.
final class ValidationTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws {
        self.harness = try await APIHarness()
    }

    override func tearDown() async throws {
        try await self.harness.shutdown()
    }

    func testEveryCreateRuleIsInvalidArgumentAndWritesNothing() async throws {
        let type = try await self.harness.configure("valid")
        let disabled = try await self.harness.configure("disabled", enabled: false)
        let harness = self.harness!
        let bigValue = String(repeating: "x", count: 1 << 20)
        let cases: [(String, Baton_V1_CreateTaskRequest)] = [
            ("task_type", .with { $0.taskType = "" }),
            ("task_type", .with { $0.taskType = String(repeating: "a", count: 65) }),
            ("task_type", .with { $0.taskType = "bad type" }),
            ("task_type", .with { $0.taskType = "x'; DROP TABLE task; --" }),
            ("task_type", .with { $0.taskType = "no_such_type_\(UUID().uuidString.prefix(6))" }),
            ("task_type", .with { $0.taskType = disabled }),
            ("priority", .with { $0.taskType = type; $0.priority = .UNRECOGNIZED(5) }),
            ("payload", .with { $0.taskType = type; $0.payload = ["big": bigValue] }),
            ("payload", .with { $0.taskType = type; $0.payload = Dictionary(uniqueKeysWithValues: (0..<1025).map { ("k\($0)", "v") }) }),
            ("payload", .with { $0.taskType = type; $0.payload = ["": "empty key"] }),
            ("payload", .with { $0.taskType = type; $0.payload = [String(repeating: "k", count: 257): "v"] }),
            ("timeout_seconds", .with { $0.taskType = type; $0.timeoutSeconds = 0 }),
            ("timeout_seconds", .with { $0.taskType = type; $0.timeoutSeconds = 86_401 }),
            ("max_retries", .with { $0.taskType = type; $0.maxRetries = -1 }),
            ("max_retries", .with { $0.taskType = type; $0.maxRetries = 101 }),
            ("run_at", .with { $0.taskType = type; $0.runAt = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(400 * 86_400)) }),
            ("run_at", .with { $0.taskType = type; $0.runAt = .with { $0.seconds = 10; $0.nanos = -5 } }),
            ("idempotency_key", .with { $0.taskType = type; $0.idempotencyKey = String(repeating: "k", count: 256) }),
        ]
        for (field, request) in cases {
            let error = await XCTAssertThrowsRPC {
                _ = try await harness.withClient { tasks, _ in try await tasks.createTask(request) }
            }
            XCTAssertEqual(error?.code, .invalidArgument, field)
            XCTAssertTrue(error?.message.contains(field) ?? false, "\(field): \(error?.message ?? "")")
        }
        let rows = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type IN (?, ?)", [.string(type), .string(disabled)])
        XCTAssertEqual(rows.first?.int("n"), 0)
        let queued = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(queued, 0)

        // Boundaries that are allowed.
        let accepted = try await harness.withClient { tasks, _ in
            try await tasks.createTask(.with {
                $0.taskType = type
                $0.timeoutSeconds = 86_400
                $0.maxRetries = 100
                $0.payload = [String(repeating: "k", count: 256): "'; DROP TABLE task; --"]
                $0.idempotencyKey = "'; DELETE FROM task; --"
                $0.runAt = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(-60))
            })
        }
        XCTAssertEqual(accepted.task.payload[String(repeating: "k", count: 256)], "'; DROP TABLE task; --")
        XCTAssertEqual(accepted.task.idempotencyKey, "'; DELETE FROM task; --")
        // A run_at in the past runs now.
        let queuedNow = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(queuedNow, 1)
    }

    /// A request message past the gRPC limit (4 MiB by default) gets a status
    /// naming the limit, and writes nothing: the transport used to reset the
    /// stream, and the client saw CANCELLED without a reason.
    func testAnOverSizeRequestIsResourceExhaustedNotAReset() async throws {
        let type = try await self.harness.configure("oversize")
        let harness = self.harness!
        let request = Baton_V1_CreateTaskRequest.with {
            $0.taskType = type
            $0.payload = ["blob": String(repeating: "x", count: 5 << 20)]
        }
        let refusal = try await harness.withClient { tasks, _ in
            do {
                _ = try await tasks.createTask(request)
                return nil as RPCError?
            } catch let error as RPCError {
                return error
            }
        }
        XCTAssertEqual(refusal?.code, .resourceExhausted, "\(refusal.map { "\($0.code): \($0.message)" } ?? "accepted")")
        XCTAssertTrue(refusal?.message.contains("at most \(4 << 20)") == true, refusal?.message ?? "")
        let rows = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)])
        XCTAssertEqual(rows.first?.int("n"), 0)
        // The connection is fine afterwards: a normal request on a new call succeeds.
        let created = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }).task }
        XCTAssertEqual(created.status, .queued)
    }

    func testCancelReasonAndEmptyBatchRules() async throws {
        let harness = self.harness!
        let long = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in
                try await tasks.cancelTask(.with {
                    $0.taskID = TaskID.make()
                    $0.reason = String(repeating: "r", count: 1025)
                })
            }
        }
        XCTAssertEqual(long?.code, .invalidArgument)
        XCTAssertTrue(long?.message.contains("reason") ?? false)
        let empty = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in try await tasks.batchCreateTasks(.init()) }
        }
        XCTAssertEqual(empty?.code, .invalidArgument)
    }
}

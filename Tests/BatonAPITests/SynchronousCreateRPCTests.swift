import BatonProto
import BatonService
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// CreateTask with `wait_seconds` over gRPC: the client's deadline, or its
/// cancelling the call, ends the node's wait at once and frees its watch
/// place (the node below has one, so a freed place is a WatchTask admitted).
/// No worker runs here: tasks stay QUEUED.
final class SynchronousCreateRPCTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws { self.harness = try await APIHarness(watchLimits: WatchLimits(perNode: 1, perKey: 1)) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// A finished task, and whether a WatchTask of it is admitted now (it
    /// answers one message and ends) or refused RESOURCE_EXHAUSTED.
    private func probe(_ type: String) async throws -> @Sendable () async throws -> RPCError.Code? {
        let harness = self.harness!
        let id = try await harness.withClient { tasks, _ in
            let id = try await tasks.createTask(.with { $0.taskType = type }).task.taskID
            _ = try await tasks.cancelTask(.with { $0.taskID = id })
            return id
        }
        return {
            await APIHarness.code {
                try await harness.withClient { tasks, _ in
                    try await tasks.watchTask(.with { $0.taskID = id }) { response in for try await _ in response.messages {} }
                }
            }
        }
    }

    func testTheClientsDeadlineEndsTheWait() async throws {
        let harness = self.harness!
        let type = try await harness.configure("sync_deadline")
        let watch = try await self.probe(type)
        let started = ContinuousClock.now
        let code = await APIHarness.code {
            try await harness.withClient { tasks, _ in
                var options = CallOptions.defaults
                options.timeout = .seconds(1)
                _ = try await tasks.createTask(.with {
                    $0.taskType = type
                    $0.waitSeconds = 60
                }, options: options)
            }
        }
        XCTAssertEqual(code, .deadlineExceeded)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3))
        let freed = try await TestEnvironment.waitUntil(timeout: .seconds(1)) { try await watch() == nil }
        XCTAssertTrue(freed, "the node still waits after the client's deadline")
    }

    func testTheClientCancellingEndsTheWait() async throws {
        let harness = self.harness!
        let type = try await harness.configure("sync_cancel")
        let watch = try await self.probe(type)
        // A probe's WatchTask holds the place until its handler has
        // returned, a moment after its client saw the stream end: a create
        // that comes then is refused (creating nothing) and is sent again,
        // as a client does.
        let call = Task {
            try await harness.withClient { tasks, _ in
                while true {
                    do {
                        return try await tasks.createTask(.with {
                            $0.taskType = type
                            $0.waitSeconds = 60
                        })
                    } catch let error as RPCError where error.code == .resourceExhausted {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
        let held = try await TestEnvironment.waitUntil { try await watch() == .resourceExhausted }
        XCTAssertTrue(held, "the wait never took the node's watch place")
        call.cancel()
        let freed = try await TestEnvironment.waitUntil(timeout: .seconds(1)) { try await watch() == nil }
        XCTAssertTrue(freed, "the node still waits after the client cancelled")
        let answered = try? await call.value
        XCTAssertNil(answered, "the cancelled call answered")
    }

    /// Past the node's limit a waiting create is refused with nothing
    /// created; the refusal reads the same over gRPC as WatchTask's.
    func testAWaitPastTheLimitIsRefusedAndCreatesNothing() async throws {
        let harness = self.harness!
        let type = try await harness.configure("sync_full")
        let holder = Task {
            try await harness.withClient { tasks, _ in
                try await tasks.createTask(.with {
                    $0.taskType = type
                    $0.waitSeconds = 3
                }).task
            }
        }
        let count = { @Sendable in
            try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)]).first?.int("n") ?? -1
        }
        let holding = try await TestEnvironment.waitUntil { try await count() == 1 }
        XCTAssertTrue(holding)
        do {
            _ = try await harness.withClient { tasks, _ in
                try await tasks.createTask(.with {
                    $0.taskType = type
                    $0.waitSeconds = 3
                })
            }
            XCTFail("a second wait was admitted")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .resourceExhausted)
            XCTAssertTrue(error.message.contains("creates waiting on wait_seconds"), error.message)
        }
        let afterRefusal = try await count()
        XCTAssertEqual(afterRefusal, 1, "the refused create created nothing")
        let task = try await holder.value
        XCTAssertEqual(task.status, .queued, "as it stood when the wait ran out")
    }
}

import BatonModel
import BatonProto
import BatonStore
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// A type deleted while its tasks are created or retried: no task is left
/// waiting for a type that no longer exists, even when this node's config
/// cache has not heard of the delete yet (another node made it).
final class DeletedTypeTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws { self.harness = try await APIHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// Another node's delete: MySQL only, this node's cache still holds the type.
    private func deleteElsewhere(_ type: String) async throws -> TaskConfigStore.Deletion {
        try await TaskConfigStore(mysql: self.harness.mysql).delete(type)
    }

    private func unfinished(_ type: String) async throws -> Int {
        try await self.harness.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status IN (\(TaskStatus.nonTerminal.map { _ in "?" }.joined(separator: ",")))",
            [.string(type)] + TaskStatus.nonTerminal.map { .int(Int64($0.rawValue)) }
        ).first?.int("n") ?? -1
    }

    /// A dead letter of `type` (FAILED, off Redis).
    private func deadLetter(_ type: String) async throws -> String {
        let id = try await self.harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }).task.taskID }
        try await self.harness.mysql.execute(
            "UPDATE task SET status = ?, attempt = 1, error = 'boom', finished_at = updated_at WHERE task_id = ?",
            [.int(Int64(TaskStatus.failed.rawValue)), .string(id)]
        )
        try await self.harness.inspector.clear(.queue(.normal))
        return id
    }

    func testRetryOfADeletedTypeIsRefused() async throws {
        let harness = self.harness!
        // Deleted through this node: its cache knows.
        let deleted = try await harness.configure("deleted")
        let first = try await self.deadLetter(deleted)
        _ = try await harness.withClient { _, admin in try await admin.deleteTaskConfig(.with { $0.taskType = deleted }) }
        let refused = await XCTAssertThrowsRPC { _ = try await harness.withClient { tasks, _ in try await tasks.retryTask(.with { $0.taskID = first }) } }
        XCTAssertEqual(refused?.code, .failedPrecondition)
        // Deleted through another node: this node's cache still has the type
        // (the dead letter's create just read it); the retry itself checks.
        let elsewhere = try await harness.configure("elsewhere")
        let second = try await self.deadLetter(elsewhere)
        let third = try await self.deadLetter(elsewhere)
        let outcome = try await self.deleteElsewhere(elsewhere)
        XCTAssertEqual(outcome, .deleted)
        let stale = await XCTAssertThrowsRPC { _ = try await harness.withClient { tasks, _ in try await tasks.retryTask(.with { $0.taskID = second }) } }
        XCTAssertEqual(stale?.code, .failedPrecondition)
        let bulk = try await harness.withClient { tasks, _ in
            try await tasks.bulkRetryTasks(.with { $0.filter = .with { $0.taskType = elsewhere } })
        }
        XCTAssertEqual(bulk.matched, 2)
        XCTAssertEqual(bulk.changed, 0, "no task of a deleted type runs again")
        for type in [deleted, elsewhere] {
            let left = try await self.unfinished(type)
            XCTAssertEqual(left, 0, "\(type): a task waits for a type that is gone")
        }
        let queued = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(queued, 0)
        let untouched = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = third }).task.status }
        XCTAssertEqual(untouched, .failed)
    }

    /// Creates after another node deleted the type, while this node's cache
    /// still says it exists: refused, nothing inserted.
    func testCreatesAfterADeleteElsewhereAreRefused() async throws {
        let harness = self.harness!
        let type = try await harness.configure("stale")
        let live = try await harness.configure("live")
        let warm = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }).task.taskID }
        _ = try await harness.withClient { tasks, _ in try await tasks.cancelTask(.with { $0.taskID = warm }) }
        let outcome = try await self.deleteElsewhere(type)
        XCTAssertEqual(outcome, .deleted)
        // Single creates share commits (the group-commit path), and a batch;
        // creates of a live type in the same commits still go through.
        let outcomes = try await withThrowingTaskGroup(of: (live: Bool, code: RPCError.Code?).self) { group in
            for _ in 0..<20 {
                for name in [type, live] {
                    group.addTask {
                        (name == live, await APIHarness.code { _ = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = name }) } })
                    }
                }
            }
            group.addTask {
                (false, await APIHarness.code {
                    _ = try await harness.withClient { tasks, _ in
                        try await tasks.batchCreateTasks(.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 10) })
                    }
                })
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { !$0.live }.map(\.code), Array(repeating: .invalidArgument, count: 21))
        XCTAssertEqual(outcomes.filter(\.live).map(\.code), Array(repeating: nil, count: 20), "a live type's creates failed for another's")
        let left = try await self.unfinished(type)
        XCTAssertEqual(left, 0, "an orphan task of a deleted type")
    }

    /// Creates stream in while another node deletes the type: either the
    /// delete is refused (a task got in first) or no task of the type waits.
    func testCreatesRacingADeleteLeaveNoOrphan() async throws {
        let harness = self.harness!
        let elsewhere = TaskConfigStore(mysql: harness.mysql)
        for round in 0..<3 {
            let type = try await harness.configure("race\(round)")
            let warm = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }).task.taskID }
            _ = try await harness.withClient { tasks, _ in try await tasks.cancelTask(.with { $0.taskID = warm }) }
            let outcome = try await withThrowingTaskGroup(of: TaskConfigStore.Deletion?.self) { group in
                group.addTask { try await elsewhere.delete(type) }
                for _ in 0..<8 {
                    group.addTask {
                        try await harness.withClient { tasks, _ in
                            for _ in 0..<10 { _ = try? await tasks.createTask(.with { $0.taskType = type }) }
                        }
                        return nil
                    }
                }
                return try await group.reduce(into: [TaskConfigStore.Deletion]()) { if let outcome = $1 { $0.append(outcome) } }.first
            }
            let left = try await self.unfinished(type)
            if outcome == .deleted {
                XCTAssertEqual(left, 0, "round \(round): tasks wait for a type that was deleted")
            } else {
                XCTAssertEqual(outcome, .hasUnfinishedTasks)
                XCTAssertGreaterThan(left, 0)
            }
        }
    }
}

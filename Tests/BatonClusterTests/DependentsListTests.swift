import BatonAuth
import BatonBroker
import BatonModel
import BatonMySQL
import BatonProto
@testable import BatonService
@testable import BatonStore
import BatonTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import XCTest

/// What a task's page shows of its graph, through TaskService on real MySQL
/// and Redis: ListTasks `depends_on` (a task's dependents, along the edge
/// table's primary key), `waiting_on` and `blocked_by` on the task, and
/// WAITING in GetStats. No worker runs: the parents are due in an hour,
/// so their dependents stay WAITING until a parent is cancelled.
final class DependentsListTests: XCTestCase {
    private var harness: SchedulerHarness!
    private var service: TaskService!
    /// A tenant of this test's own: its GetStats counts only these tasks.
    private var caller: Caller!

    override func setUp() async throws {
        self.harness = try await SchedulerHarness()
        self.service = TaskService(
            nodeID: "test", tasks: self.harness.tasks, configs: TaskConfigCache(store: self.harness.configs), broker: self.harness.broker,
            hub: EventHub(), logger: self.harness.logger
        )
        self.caller = Caller(keyID: "deps", role: .submitter, tenant: self.harness.prefix)
    }

    override func tearDown() async throws {
        try await self.harness.mysql.execute(
            "DELETE d FROM task_dependency d JOIN task t ON t.task_id = d.child_id WHERE t.task_type LIKE ?", [.string("\(self.harness.prefix)%")]
        )
        try await self.harness.shutdown()
    }

    private func call<T: Sendable>(as caller: Caller? = nil, _ body: @Sendable (TaskService) async throws -> T) async throws -> T {
        let service = self.service!
        return try await Caller.$current.withValue(caller ?? self.caller) { try await body(service) }
    }

    private func item(_ type: String, _ dependsOn: [String] = [], later: Bool = false) -> Baton_V1_CreateTaskRequest {
        .with {
            $0.taskType = type
            $0.dependsOn = dependsOn
            if later { $0.runAt = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(3600)) }
        }
    }

    private func batch(_ items: [Baton_V1_CreateTaskRequest]) async throws -> [Baton_V1_Task] {
        try await self.call { try await $0.batchCreateTasks(.with { $0.tasks = items }).tasks }
    }

    /// Every page of ListTasks for `request`, page by page.
    private func all(_ request: Baton_V1_ListTasksRequest, as caller: Caller? = nil) async throws -> (ids: [String], pages: Int) {
        var request = request
        var ids: [String] = []
        var pages = 0
        repeat {
            let page = try await self.call(as: caller) { [request] in try await $0.listTasks(request) }
            ids += page.tasks.map(\.taskID)
            pages += 1
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty && pages < 20
        return (ids, pages)
    }

    private func read(_ id: String) async throws -> Baton_V1_Task {
        try await self.call { try await $0.getTask(.with { $0.taskID = id }).task }
    }

    private func invalid(_ request: Baton_V1_ListTasksRequest, _ what: String) async throws {
        do {
            _ = try await self.call { try await $0.listTasks(request) }
            XCTFail("\(what): accepted")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .invalidArgument, what)
        }
    }

    func testListTasksByDependsOnPagesThroughATasksDependents() async throws {
        let type = try await self.harness.type("deps")
        let parents = try await self.batch([self.item(type, later: true), self.item(type, later: true), self.item(type, later: true)])
        let (p, q, lonely) = (parents[0].taskID, parents[1].taskID, parents[2].taskID)
        let children = try await self.batch((0..<5).map { _ in self.item(type, [p]) } + [self.item(type, [p, q]), self.item(type, [q])])
        XCTAssertTrue(children.allSatisfy { $0.status == .waiting }, "\(children.map(\.status))")
        let ofP = children.prefix(6).map(\.taskID)

        // Newest first by default (ids are time-ordered), in pages of two; oldest first on request.
        let newest = try await self.all(.with {
            $0.dependsOn = p
            $0.pageSize = 2
        })
        XCTAssertEqual(newest.ids, ofP.sorted(by: >))
        XCTAssertEqual(newest.pages, 3)
        let oldest = try await self.all(.with {
            $0.dependsOn = p
            $0.oldestFirst = true
        })
        XCTAssertEqual(oldest.ids, ofP.sorted())
        let ofQ = try await self.all(.with { $0.dependsOn = q })
        XCTAssertEqual(ofQ.ids, [children[5].taskID, children[6].taskID].sorted(by: >))
        let none = try await self.all(.with { $0.dependsOn = lonely })
        XCTAssertEqual(none.ids, [])

        // With the other filters: a status, a worker (needs no other filter here), a type.
        let waiting = try await self.all(.with {
            $0.dependsOn = p
            $0.statuses = [.waiting]
        })
        XCTAssertEqual(waiting.ids.count, 6)
        let queued = try await self.all(.with {
            $0.dependsOn = p
            $0.statuses = [.queued]
        })
        XCTAssertEqual(queued.ids, [])
        let byWorker = try await self.all(.with {
            $0.dependsOn = p
            $0.workerID = "nobody"
        })
        XCTAssertEqual(byWorker.ids, [])
        let otherType = try await self.all(.with {
            $0.dependsOn = p
            $0.taskType = "\(self.harness.prefix)_other"
        })
        XCTAssertEqual(otherType.ids, [])

        // Another tenant sees none of them.
        let stranger = Caller(keyID: "stranger", role: .viewer, tenant: "\(self.harness.prefix)_other")
        let strangers = try await self.all(.with { $0.dependsOn = p }, as: stranger)
        XCTAssertEqual(strangers.ids, [])

        try await self.invalid(.with { $0.dependsOn = "not-a-task" }, "a malformed id")
        let first = try await self.call { try await $0.listTasks(.with {
            $0.dependsOn = p
            $0.pageSize = 2
        }) }
        try await self.invalid(.with {
            $0.dependsOn = q
            $0.pageToken = first.nextPageToken
        }, "a token of another parent's list")
    }

    func testATaskShowsWhatItWaitsOnAndWhatBlockedIt() async throws {
        let type = try await self.harness.type("deps")
        let before = try await self.call { try await $0.getStats(.init()) }.tasksByStatus["TASK_STATUS_WAITING"] ?? 0
        let parents = try await self.batch([self.item(type, later: true), self.item(type, later: true)])
        let (p, q) = (parents[0].taskID, parents[1].taskID)
        let children = try await self.batch([self.item(type, [p, q]), self.item(type, [p]), self.item(type, [q, "#1"])])
        XCTAssertEqual(children.map(\.waitingOn), [2, 1, 2], "as created")
        XCTAssertEqual(children.map(\.blockedBy), ["", "", ""])

        // GetStats counts WAITING (this tenant's: the three children).
        let stats = try await self.call { try await $0.getStats(.init()) }
        XCTAssertEqual((stats.tasksByStatus["TASK_STATUS_WAITING"] ?? 0) - before, 3)

        // Cancelling q cancels what waits on it, each naming it; the others wait on.
        _ = try await self.call { try await $0.cancelTask(.with { $0.taskID = q }) }
        let both = try await self.read(children[0].taskID)
        XCTAssertEqual(both.status, .cancelled)
        XCTAssertEqual(both.blockedBy, q)
        XCTAssertEqual(both.waitingOn, 0, "shown only while WAITING")
        let onlyP = try await self.read(children[1].taskID)
        XCTAssertEqual(onlyP.status, .waiting)
        XCTAssertEqual(onlyP.waitingOn, 1)
        XCTAssertEqual(onlyP.blockedBy, "")
        let listed = try await self.call { try await $0.listTasks(.with { $0.dependsOn = q }) }.tasks
        XCTAssertEqual(Set(listed.map(\.blockedBy)), [q])
        let after = try await self.call { try await $0.getStats(.init()) }
        XCTAssertEqual((after.tasksByStatus["TASK_STATUS_WAITING"] ?? 0) - before, 1)
    }

    /// A dependents page reads a range of the edge table's primary key, in order (no sort).
    func testTheDependentsListReadsTheEdgeTablesPrimaryKey() async throws {
        for oldestFirst in [false, true] {
            for after in [false, true] {
                let binds: [MySQLValue] = [.string(TaskID.make())] + (after ? [.string(TaskID.make())] : []) + [.int(10)]
                let plan = try await self.harness.mysql.query("EXPLAIN " + TaskStore.idsQuery(.dependents, oldestFirst: oldestFirst, after: after), binds)
                XCTAssertEqual(plan.first?.string("table"), "task_dependency")
                XCTAssertEqual(plan.first?.string("key"), "PRIMARY")
                XCTAssertNotEqual(plan.first?.string("type"), "ALL")
                XCTAssertFalse((plan.first?.string("Extra") ?? "").contains("filesort"), "\(plan)")
            }
        }
    }
}

@testable import BatonAPI
import BatonBroker
import BatonHTTP
import BatonModel
import BatonMySQL
import BatonProto
@testable import BatonStore
import BatonTestSupport
import BatonWorker
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Synchronization
import XCTest

/// `depends_on` end to end: created through the API (TaskService), run by a
/// real worker with a leader's dispatcher, on real MySQL and Redis.
final class DependencyTests: XCTestCase {
    private var harness: WorkerHarness!
    private let seen = Seen()

    /// What the test handlers saw: per task id, the dependency results its executor got.
    final class Seen: Sendable {
        let results = Mutex<[String: [String: String]]>([:])
        let order = Mutex<[String]>([])
        let gate = Mutex<Bool>(false)
    }

    override func setUp() async throws {
        self.harness = try await WorkerHarness(capacity: 8)
        let seen = self.seen
        // Returns "r-<name>"; records the results it was given and the order.
        self.harness.registry.register("\(self.harness.base.prefix)_record") { context, payload in
            seen.results.withLock { $0[context.taskID] = context.dependencyResults }
            seen.order.withLock { $0.append(payload["name"] ?? context.taskID) }
            return "r-\(payload["name"] ?? "")"
        }
        // Fails its first attempt (not retryable), succeeds after RetryTask.
        self.harness.registry.register("\(self.harness.base.prefix)_flaky") { context, _ in
            if context.attempt == 1 { throw ExecutionFailure("first attempt fails", retryable: false) }
            return "fixed"
        }
        // Runs until the test opens the gate.
        self.harness.registry.register("\(self.harness.base.prefix)_gated") { _, _ in
            while !seen.gate.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            return "opened"
        }
    }

    override func tearDown() async throws {
        // The edges of this harness's tasks (it removes the tasks).
        try await self.harness.base.mysql.execute(
            "DELETE d FROM task_dependency d JOIN task t ON t.task_id = d.child_id WHERE t.task_type LIKE ?", [.string("\(self.harness.base.prefix)%")]
        )
        try await self.harness.shutdown()
    }

    private func service() -> TaskService {
        TaskService(nodeID: "test", tasks: self.harness.base.tasks, configs: self.harness.cache, broker: self.harness.base.broker, hub: EventHub(),
                    logger: self.harness.base.logger)
    }

    private func type(_ name: String, handler: String? = nil) async throws -> String {
        try await self.harness.type(name, handler: handler ?? "\(self.harness.base.prefix)_\(name)")
    }

    private func item(_ type: String, _ name: String, _ dependsOn: [String] = []) -> Baton_V1_CreateTaskRequest {
        .with {
            $0.taskType = type
            $0.payload = ["name": name]
            $0.dependsOn = dependsOn
        }
    }

    private func batch(_ items: [Baton_V1_CreateTaskRequest], tenant: Caller = .open) async throws -> [Baton_V1_Task] {
        let service = self.service()
        return try await Caller.$current.withValue(tenant) {
            try await service.batchCreateTasks(.with { $0.tasks = items }).tasks
        }
    }

    private func create(_ item: Baton_V1_CreateTaskRequest) async throws -> Baton_V1_Task {
        let service = self.service()
        return try await Caller.$current.withValue(.open) { try await service.createTask(item).task }
    }

    private func wait(_ id: String, for statuses: Set<TaskStatus>, timeout: Duration = .seconds(20)) async throws -> TaskRecord {
        let harness = self.harness!
        _ = try await TestEnvironment.waitUntil(timeout: timeout) { statuses.contains(try await harness.task(id).status) }
        return try await harness.task(id)
    }

    private func count(_ type: String) async throws -> Int {
        try await self.harness.base.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)]).first?.int("n") ?? -1
    }

    /// Upper bound of a release: the parent's end to the dependent's start
    /// (release, enqueue, dispatch and start write), in ms.
    private func gap(_ parent: TaskRecord, _ child: TaskRecord) -> Double {
        ((child.startedAt ?? .distantFuture).timeIntervalSince(parent.finishedAt ?? .distantPast)) * 1000
    }

    func testAChainRunsInOrderAndEachGetsItsParentsResult() async throws {
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(type, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#1"])])
        XCTAssertEqual(tasks.map(\.status), [.queued, .waiting, .waiting])
        XCTAssertEqual(tasks[2].dependsOn, [tasks[1].taskID])
        let c = try await self.wait(tasks[2].taskID, for: [.succeeded, .cancelled, .failed])
        XCTAssertEqual(c.status, .succeeded)
        XCTAssertEqual(self.seen.order.withLock { $0 }, ["a", "b", "c"])
        XCTAssertEqual(self.seen.results.withLock { $0[tasks[1].taskID] }, [tasks[0].taskID: "r-a"])
        XCTAssertEqual(self.seen.results.withLock { $0[tasks[2].taskID] }, [tasks[1].taskID: "r-b"])
        XCTAssertEqual(self.seen.results.withLock { $0[tasks[0].taskID] }, [:])
        // GetTask shows them too.
        let shown = try await Caller.$current.withValue(.open) { try await self.service().getTask(.with { $0.taskID = tasks[2].taskID }).task }
        XCTAssertEqual(shown.dependencyResults, [tasks[1].taskID: "r-b"])
        let a = try await self.harness.task(tasks[0].taskID)
        let b = try await self.harness.task(tasks[1].taskID)
        print("dependency release gaps (parent end to child start, ms): \(self.gap(a, b)), \(self.gap(b, c))")
    }

    func testFanOutOfAThousandThenFanInOfAThousand() async throws {
        let type = try await self.type("record")
        let root = try await self.create(self.item(type, "root"))
        let children = try await self.batch((0..<1000).map { self.item(type, "child\($0)", [root.taskID]) })
        XCTAssertTrue(children.allSatisfy { $0.status == .waiting || $0.status == .queued })
        let sink = try await self.create(self.item(type, "sink", children.map(\.taskID)))
        let done = try await self.wait(sink.taskID, for: [.succeeded, .cancelled, .failed], timeout: .seconds(60))
        XCTAssertEqual(done.status, .succeeded)
        let results = self.seen.results.withLock { $0[sink.taskID] } ?? [:]
        XCTAssertEqual(results.count, 1000)
        XCTAssertEqual(results[children[17].taskID], "r-child17")
        let order = self.seen.order.withLock { $0 }
        XCTAssertEqual(order.first, "root")
        XCTAssertEqual(order.last, "sink")
        XCTAssertEqual(order.count, 1002)
        // Gaps from the last child's end to the sink's start.
        let last = try await self.harness.base.tasks.tasks(children.map(\.taskID)).max { ($0.finishedAt ?? .distantPast) < ($1.finishedAt ?? .distantPast) }!
        let rootRecord = try await self.harness.task(root.taskID)
        let firstChildren = try await self.harness.base.tasks.tasks(children.map(\.taskID)).compactMap(\.startedAt).sorted()
        print("fan-out: root end to first child start \(((firstChildren.first ?? .distantFuture).timeIntervalSince(rootRecord.finishedAt!)) * 1000) ms; fan-in: last child end to sink start \(self.gap(last, done)) ms")
    }

    func testADiamondJoinsBothResults() async throws {
        let type = try await self.type("record")
        let tasks = try await self.batch([
            self.item(type, "d", ["#1", "#2"]), self.item(type, "b", ["#3"]), self.item(type, "c", ["#3"]), self.item(type, "a"),
        ])
        XCTAssertEqual(tasks.map(\.status), [.waiting, .waiting, .waiting, .queued])
        let d = try await self.wait(tasks[0].taskID, for: [.succeeded, .cancelled, .failed])
        XCTAssertEqual(d.status, .succeeded)
        XCTAssertEqual(self.seen.results.withLock { $0[tasks[0].taskID] }, [tasks[1].taskID: "r-b", tasks[2].taskID: "r-c"])
        XCTAssertEqual(self.seen.order.withLock { $0 }.first, "a")
        XCTAssertEqual(self.seen.order.withLock { $0 }.last, "d")
    }

    func testAFailedParentCancelsDownTheGraphAndRetryBringsThemBack() async throws {
        let flaky = try await self.type("flaky")
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(flaky, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#1"]), self.item(type, "d", ["#1", "#2"])])
        let c = try await self.wait(tasks[2].taskID, for: [.cancelled, .succeeded])
        let a = try await self.harness.task(tasks[0].taskID)
        let b = try await self.harness.task(tasks[1].taskID)
        let d = try await self.wait(tasks[3].taskID, for: [.cancelled, .succeeded])
        XCTAssertEqual(a.status, .failed)
        XCTAssertEqual([b.status, c.status, d.status], [.cancelled, .cancelled, .cancelled])
        XCTAssertEqual(b.error, "dependency \(a.taskID) ended TASK_STATUS_FAILED")
        XCTAssertEqual(c.error, "dependency \(b.taskID) ended TASK_STATUS_CANCELLED")
        XCTAssertTrue(d.error?.contains(b.taskID) == true || d.error?.contains(c.taskID) == true, d.error ?? "")
        XCTAssertEqual(self.seen.order.withLock { $0 }, [])
        let counts = try await self.harness.base.tasks.countsByStatus()

        // RetryTask of the parent: its dependents wait again, then run.
        let service = self.service()
        _ = try await Caller.$current.withValue(.open) { try await service.retryTask(.with { $0.taskID = a.taskID }) }
        let waiting = try await self.harness.base.tasks.tasks([b.taskID, c.taskID, d.taskID])
        XCTAssertTrue(waiting.allSatisfy { $0.status == .waiting || $0.status == .queued || $0.status == .running || $0.status == .succeeded },
                      "\(waiting.map(\.status))")
        XCTAssertTrue(waiting.allSatisfy { $0.error == nil })
        let after = try await self.harness.base.tasks.countsByStatus()
        XCTAssertEqual((counts[.cancelled] ?? 0) - (after[.cancelled] ?? 0), 3, "the revived dependents leave the cancelled count")
        let last = try await self.wait(d.taskID, for: [.succeeded, .cancelled, .failed])
        XCTAssertEqual(last.status, .succeeded)
        XCTAssertEqual(self.seen.order.withLock { $0 }, ["b", "c", "d"])
        XCTAssertEqual(self.seen.results.withLock { $0[b.taskID] }, [a.taskID: "fixed"])
    }

    func testADependentOfAFinishedParentIsQueuedOrCancelledAtOnce() async throws {
        let type = try await self.type("record")
        let flaky = try await self.type("flaky")
        let done = try await self.create(self.item(type, "done"))
        let failed = try await self.create(self.item(flaky, "failed"))
        _ = try await self.wait(done.taskID, for: [.succeeded])
        _ = try await self.wait(failed.taskID, for: [.failed])
        let released = try await self.create(self.item(type, "late", [done.taskID]))
        XCTAssertEqual(released.status, .queued)
        let cancelled = try await self.create(self.item(type, "never", [done.taskID, failed.taskID]))
        XCTAssertEqual(cancelled.status, .cancelled)
        XCTAssertEqual(cancelled.error, "dependency \(failed.taskID) ended TASK_STATUS_FAILED")
        let ran = try await self.wait(released.taskID, for: [.succeeded])
        XCTAssertEqual(ran.dependencyResults, [done.taskID: "r-done"])
        // Retrying the failed parent brings the late dependent back too.
        _ = try await Caller.$current.withValue(.open) { try await self.service().retryTask(.with { $0.taskID = failed.taskID }) }
        let back = try await self.wait(cancelled.taskID, for: [.succeeded], timeout: .seconds(20))
        XCTAssertEqual(back.status, .succeeded)
    }

    /// A dependent created while its parent RUNS: the worker's copy of the
    /// parent says "no dependents"; the outcome write must still release it.
    func testADependentCreatedWhileItsParentRunsIsReleased() async throws {
        let gated = try await self.type("gated")
        let type = try await self.type("record")
        let parent = try await self.create(self.item(gated, "p"))
        _ = try await self.wait(parent.taskID, for: [.running])
        let child = try await self.create(self.item(type, "child", [parent.taskID]))
        XCTAssertEqual(child.status, .waiting)
        self.seen.gate.withLock { $0 = true }
        let ran = try await self.wait(child.taskID, for: [.succeeded], timeout: .seconds(10))
        XCTAssertEqual(ran.status, .succeeded)
        XCTAssertEqual(self.seen.results.withLock { $0[child.taskID] }, [parent.taskID: "opened"])
    }

    func testCancellingAWaitingTaskCancelsItsDependentsAndWaitingIsCounted() async throws {
        let gated = try await self.type("gated")
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(gated, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#1"])])
        let counts = try await self.harness.base.tasks.countsByStatus()
        XCTAssertGreaterThanOrEqual(counts[.waiting] ?? 0, 2)
        let stats = try await Caller.$current.withValue(.open) { try await self.service().getStats(.init()) }
        XCTAssertGreaterThanOrEqual(stats.tasksByStatus["TASK_STATUS_WAITING"] ?? 0, 2)
        let service = self.service()
        let cancelled = try await Caller.$current.withValue(.open) { try await service.cancelTask(.with { $0.taskID = tasks[1].taskID }) }
        XCTAssertEqual(cancelled.task.status, .cancelled)
        let c = try await self.harness.task(tasks[2].taskID)
        XCTAssertEqual(c.status, .cancelled)
        XCTAssertEqual(c.error, "dependency \(tasks[1].taskID) ended TASK_STATUS_CANCELLED")
        self.seen.gate.withLock { $0 = true }
        _ = try await self.wait(tasks[0].taskID, for: [.succeeded])
        try await Task.sleep(for: .milliseconds(300))
        let still = try await self.harness.task(tasks[2].taskID)
        XCTAssertEqual(still.status, .cancelled)
        XCTAssertEqual(self.seen.order.withLock { $0 }, [])
    }

    func testRefusalsCreateNothing() async throws {
        let type = try await self.type("record")
        func refused(_ body: () async throws -> Void) async -> RPCError.Code? {
            do {
                try await body()
                return nil
            } catch let error as RPCError {
                return error.code
            } catch {
                return .unknown
            }
        }
        let unknown = TaskID.make()
        var code = await refused { _ = try await self.create(self.item(type, "x", [unknown])) }
        XCTAssertEqual(code, .invalidArgument)
        code = await refused { _ = try await self.batch([self.item(type, "x"), self.item(type, "y", ["#0", unknown])]) }
        XCTAssertEqual(code, .invalidArgument)
        // Another tenant's task is one that does not exist.
        let other = try await self.harness.create(type: type, tenant: "other-tenant", enqueue: false)
        code = await refused { _ = try await self.create(self.item(type, "x", [other.taskID])) }
        XCTAssertEqual(code, .invalidArgument)
        code = await refused { _ = try await self.batch([self.item(type, "x", ["#2"]), self.item(type, "y")]) }
        XCTAssertEqual(code, .invalidArgument)
        code = await refused { _ = try await self.batch([self.item(type, "x", ["#0"]), self.item(type, "y")]) }
        XCTAssertEqual(code, .invalidArgument)
        code = await refused { _ = try await self.batch([self.item(type, "x", ["#1"]), self.item(type, "y", ["#2"]), self.item(type, "z", ["#0"])]) }
        XCTAssertEqual(code, .invalidArgument)
        code = await refused { _ = try await self.create(self.item(type, "x", ["#0"])) }
        XCTAssertEqual(code, .invalidArgument)
        code = await refused { _ = try await self.create(self.item(type, "x", ["not-an-id"])) }
        XCTAssertEqual(code, .invalidArgument)
        let created = try await self.count(type)
        XCTAssertEqual(created, 1, "only the other tenant's task")
        let flagged = try await self.harness.base.mysql.query("SELECT has_dependents FROM task WHERE task_id = ?", [.string(other.taskID)])
        XCTAssertEqual(flagged.first?.int("has_dependents"), 0)
    }

    func testAnHTTPExecutorGetsTheDependencyResults() async throws {
        let bodies = Mutex<[String]>([])
        let server = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: ["/ok": { request in
                bodies.withLock { $0.append(String(buffer: request.body)) }
                return .init(contentType: "application/json", body: #"{"success":true,"data":"sent"}"#)
            }],
            logger: Logger(label: "http-service")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "http-service"))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        let port = try await server.listeningPort()
        let http = try await self.harness.type("http_dep", handler: "http://127.0.0.1:\(port)/ok", executor: .http)
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(type, "a"), self.item(http, "b", ["#0"])])
        let b = try await self.wait(tasks[1].taskID, for: [.succeeded, .failed])
        XCTAssertEqual(b.status, .succeeded)
        let body = bodies.withLock { $0.first } ?? ""
        XCTAssertTrue(body.contains(#""dependency_results":{"\#(tasks[0].taskID)":"r-a"}"#), body)
        await group.triggerGracefulShutdown()
    }

    /// A gRPC business service that keeps the dependency results of each request.
    struct DependencyService: Baton_V1_TaskExecutor.SimpleServiceProtocol {
        let received: @Sendable (Baton_V1_ExecuteRequest) -> Void

        func execute(request: Baton_V1_ExecuteRequest, context: ServerContext) async throws -> Baton_V1_ExecuteResponse {
            self.received(request)
            return .with {
                $0.success = true
                $0.result = "joined \(request.dependencyResults.count)"
            }
        }
    }

    func testAGRPCExecutorGetsTheDependencyResults() async throws {
        let requests = Mutex<[String: [String: String]]>([:])
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [DependencyService { request in
            requests.withLock { $0[request.taskID] = request.dependencyResults }
        }])
        let serving = Task { try await server.serve() }
        let port = try await transport.listeningAddress.ipv4!.port
        let grpc = try await self.harness.type("grpc_dep", handler: "127.0.0.1:\(port)", executor: .grpc)
        let type = try await self.type("record")
        // A root run by the service too: it is sent no results.
        let tasks = try await self.batch([self.item(type, "a"), self.item(type, "b"), self.item(grpc, "c", ["#0", "#1"]), self.item(grpc, "root")])
        let c = try await self.wait(tasks[2].taskID, for: [.succeeded, .failed, .cancelled])
        XCTAssertEqual(c.status, .succeeded, c.error ?? "")
        XCTAssertEqual(c.result, "joined 2")
        _ = try await self.wait(tasks[3].taskID, for: [.succeeded, .failed])
        let seen = requests.withLock { $0 }
        XCTAssertEqual(seen[tasks[2].taskID], [tasks[0].taskID: "r-a", tasks[1].taskID: "r-b"])
        XCTAssertEqual(seen[tasks[3].taskID], [:])
        server.beginGracefulShutdown()
        _ = await serving.result
    }

    /// The dependency reads are index ranges.
    func testDependencyReadsUseTheirIndexes() async throws {
        let ids = [TaskID.make(), TaskID.make()].map(MySQLValue.string)
        let edges = try await self.harness.base.mysql.query("EXPLAIN " + TaskStore.edgesQuery(2), ids)
        XCTAssertEqual(edges.first?.string("key"), "PRIMARY")
        XCTAssertNotEqual(edges.first?.string("type"), "ALL")
        let parents = try await self.harness.base.mysql.query("EXPLAIN " + TaskStore.parentsQuery(2) + " AND p.status = ?", ids + [.int(5)])
        for row in parents {
            XCTAssertNotEqual(row.string("type"), "ALL", "\(row)")
        }
        XCTAssertEqual(parents.first?.string("key"), "idx_task_dependency_child")
    }
}

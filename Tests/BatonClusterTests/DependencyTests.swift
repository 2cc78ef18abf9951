import BatonAuth
import BatonBroker
import BatonHTTP
import BatonModel
import BatonMySQL
import BatonProto
import BatonRedis
import BatonScheduler
@testable import BatonService
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

    /// The RPCError `body` threw (UNKNOWN for any other error), nil if none.
    private func rpcError(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            return RPCError(code: .unknown, message: "\(error)")
        }
    }

    private func retry(_ id: String, service: TaskService? = nil) async throws -> Baton_V1_Task {
        let service = service ?? self.service()
        return try await Caller.$current.withValue(.open) { try await service.retryTask(.with { $0.taskID = id }).task }
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
        let c = try await self.harness.waitForStatus(tasks[2].taskID, [.succeeded, .cancelled, .failed], timeout: .seconds(20))
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
        let done = try await self.harness.waitForStatus(sink.taskID, [.succeeded, .cancelled, .failed], timeout: .seconds(60))
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
        let d = try await self.harness.waitForStatus(tasks[0].taskID, [.succeeded, .cancelled, .failed], timeout: .seconds(20))
        XCTAssertEqual(d.status, .succeeded)
        XCTAssertEqual(self.seen.results.withLock { $0[tasks[0].taskID] }, [tasks[1].taskID: "r-b", tasks[2].taskID: "r-c"])
        XCTAssertEqual(self.seen.order.withLock { $0 }.first, "a")
        XCTAssertEqual(self.seen.order.withLock { $0 }.last, "d")
    }

    func testAFailedParentCancelsDownTheGraphAndRetryBringsThemBack() async throws {
        let flaky = try await self.type("flaky")
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(flaky, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#1"]), self.item(type, "d", ["#1", "#2"])])
        let c = try await self.harness.waitForStatus(tasks[2].taskID, [.cancelled, .succeeded], timeout: .seconds(20))
        let a = try await self.harness.task(tasks[0].taskID)
        let b = try await self.harness.task(tasks[1].taskID)
        let d = try await self.harness.waitForStatus(tasks[3].taskID, [.cancelled, .succeeded], timeout: .seconds(20))
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
        let last = try await self.harness.waitForStatus(d.taskID, [.succeeded, .cancelled, .failed], timeout: .seconds(20))
        XCTAssertEqual(last.status, .succeeded)
        XCTAssertEqual(self.seen.order.withLock { $0 }, ["b", "c", "d"])
        XCTAssertEqual(self.seen.results.withLock { $0[b.taskID] }, [a.taskID: "fixed"])
    }

    /// A cascade and a retry over more than eight dependents, so their
    /// per-row values (each grandchild's own blocker, the open counts) go
    /// through `KeyedCase`'s search tree rather than a list of arms.
    func testACascadeOverManyDependentsGivesEachItsOwnBlocker() async throws {
        let flaky = try await self.type("flaky")
        let type = try await self.type("record")
        var items = [self.item(flaky, "a")]
        for n in 0..<12 { items.append(self.item(type, "c\(n)", ["#0"])) }
        for n in 0..<12 { items.append(self.item(type, "g\(n)", ["#\(n + 1)"])) }
        let tasks = try await self.batch(items)
        let children = Array(tasks[1...12])
        let grandchildren = Array(tasks[13...24])
        for task in grandchildren { _ = try await self.harness.waitForStatus(task.taskID, [.cancelled, .succeeded], timeout: .seconds(20)) }
        let rows = try await self.harness.base.tasks.tasks((children + grandchildren).map(\.taskID))
        let byID = Dictionary(uniqueKeysWithValues: rows.map { ($0.taskID, $0) })
        for child in children {
            XCTAssertEqual(byID[child.taskID]?.status, .cancelled)
            XCTAssertEqual(byID[child.taskID]?.blockedBy, tasks[0].taskID)
        }
        for (child, grandchild) in zip(children, grandchildren) {
            let row = byID[grandchild.taskID]
            XCTAssertEqual(row?.status, .cancelled)
            XCTAssertEqual(row?.blockedBy, child.taskID, "each its own blocker")
            XCTAssertEqual(row?.error, "dependency \(child.taskID) ended TASK_STATUS_CANCELLED")
        }
        // RetryTask of the parent brings all 24 back, and all of them run.
        _ = try await self.retry(tasks[0].taskID)
        for task in children + grandchildren {
            let done = try await self.harness.waitForStatus(task.taskID, [.succeeded, .cancelled, .failed], timeout: .seconds(30))
            XCTAssertEqual(done.status, .succeeded, done.error ?? "")
        }
    }

    func testADependentOfAFinishedParentIsQueuedOrCancelledAtOnce() async throws {
        let type = try await self.type("record")
        let flaky = try await self.type("flaky")
        let done = try await self.create(self.item(type, "done"))
        let failed = try await self.create(self.item(flaky, "failed"))
        _ = try await self.harness.waitForStatus(done.taskID, [.succeeded], timeout: .seconds(20))
        _ = try await self.harness.waitForStatus(failed.taskID, [.failed], timeout: .seconds(20))
        let released = try await self.create(self.item(type, "late", [done.taskID]))
        XCTAssertEqual(released.status, .queued)
        let cancelled = try await self.create(self.item(type, "never", [done.taskID, failed.taskID]))
        XCTAssertEqual(cancelled.status, .cancelled)
        XCTAssertEqual(cancelled.error, "dependency \(failed.taskID) ended TASK_STATUS_FAILED")
        let ran = try await self.harness.waitForStatus(released.taskID, [.succeeded], timeout: .seconds(20))
        XCTAssertEqual(ran.dependencyResults, [done.taskID: "r-done"])
        // Retrying the failed parent brings the late dependent back too.
        _ = try await Caller.$current.withValue(.open) { try await self.service().retryTask(.with { $0.taskID = failed.taskID }) }
        let back = try await self.harness.waitForStatus(cancelled.taskID, [.succeeded], timeout: .seconds(20))
        XCTAssertEqual(back.status, .succeeded)
    }

    /// A dependent created while its parent RUNS: the worker's copy of the
    /// parent says "no dependents"; the outcome write must still release it.
    func testADependentCreatedWhileItsParentRunsIsReleased() async throws {
        let gated = try await self.type("gated")
        let type = try await self.type("record")
        let parent = try await self.create(self.item(gated, "p"))
        _ = try await self.harness.waitForStatus(parent.taskID, [.running], timeout: .seconds(20))
        let child = try await self.create(self.item(type, "child", [parent.taskID]))
        XCTAssertEqual(child.status, .waiting)
        self.seen.gate.withLock { $0 = true }
        let ran = try await self.harness.waitForStatus(child.taskID, [.succeeded], timeout: .seconds(10))
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
        _ = try await self.harness.waitForStatus(tasks[0].taskID, [.succeeded], timeout: .seconds(20))
        try await Task.sleep(for: .milliseconds(300))
        let still = try await self.harness.task(tasks[2].taskID)
        XCTAssertEqual(still.status, .cancelled)
        XCTAssertEqual(self.seen.order.withLock { $0 }, [])
    }

    func testRefusalsCreateNothing() async throws {
        let type = try await self.type("record")
        func refused(_ body: () async throws -> Void) async -> RPCError.Code? { await self.rpcError(body)?.code }
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
        let b = try await self.harness.waitForStatus(tasks[1].taskID, [.succeeded, .failed], timeout: .seconds(20))
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
        let c = try await self.harness.waitForStatus(tasks[2].taskID, [.succeeded, .failed, .cancelled], timeout: .seconds(20))
        XCTAssertEqual(c.status, .succeeded, c.error ?? "")
        XCTAssertEqual(c.result, "joined 2")
        _ = try await self.harness.waitForStatus(tasks[3].taskID, [.succeeded, .failed], timeout: .seconds(20))
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

    // MARK: RetryTask of a dependent, and retries Redis did not take

    /// A dependent retried while its parent still runs waits for it again;
    /// one whose parents all SUCCEEDED is queued at once.
    func testARetriedDependentWaitsForItsUnfinishedParents() async throws {
        let gated = try await self.type("gated")
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(gated, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#0"])])
        _ = try await self.harness.waitForStatus(tasks[0].taskID, [.running], timeout: .seconds(20))
        let service = self.service()
        for id in [tasks[1].taskID, tasks[2].taskID] {
            _ = try await Caller.$current.withValue(.open) { try await service.cancelTask(.with { $0.taskID = id }) }
        }
        let b = try await self.retry(tasks[1].taskID)
        XCTAssertEqual(b.status, .waiting, "its parent still runs")
        try await Task.sleep(for: .milliseconds(500))
        let still = try await self.harness.task(tasks[1].taskID)
        XCTAssertEqual(still.status, .waiting)
        XCTAssertNil(still.error)
        XCTAssertEqual(self.seen.order.withLock { $0 }, [], "nothing runs before its parent succeeded")
        self.seen.gate.withLock { $0 = true }
        let ranB = try await self.harness.waitForStatus(tasks[1].taskID, [.succeeded, .cancelled, .failed], timeout: .seconds(20))
        XCTAssertEqual(ranB.status, .succeeded)
        XCTAssertEqual(self.seen.results.withLock { $0[tasks[1].taskID] }, [tasks[0].taskID: "opened"])
        // Its parent SUCCEEDED: queued at once.
        let c = try await self.retry(tasks[2].taskID)
        XCTAssertEqual(c.status, .queued)
        let ranC = try await self.harness.waitForStatus(tasks[2].taskID, [.succeeded, .cancelled, .failed], timeout: .seconds(20))
        XCTAssertEqual(ranC.status, .succeeded)
    }

    /// A dependent whose parent ended FAILED cannot run again before that
    /// parent: RetryTask refuses, naming it, and changes nothing; retrying
    /// the parent brings the dependent back.
    func testRetryingADependentOfAFailedParentIsRefusedNamingIt() async throws {
        let flaky = try await self.type("flaky")
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(flaky, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#1"])])
        let c = try await self.harness.waitForStatus(tasks[2].taskID, [.cancelled, .succeeded], timeout: .seconds(20))
        XCTAssertEqual(c.status, .cancelled)
        let counts = try await self.harness.base.tasks.countsByStatus()
        let refusal = await self.rpcError { _ = try await self.retry(tasks[1].taskID) }
        XCTAssertEqual(refusal?.code, .failedPrecondition)
        XCTAssertTrue(refusal?.message.contains(tasks[0].taskID) == true, refusal?.message ?? "")
        // Its own parent, b, is CANCELLED: c is refused naming b.
        let refusalC = await self.rpcError { _ = try await self.retry(tasks[2].taskID) }
        XCTAssertEqual(refusalC?.code, .failedPrecondition)
        XCTAssertTrue(refusalC?.message.contains(tasks[1].taskID) == true, refusalC?.message ?? "")
        try await Task.sleep(for: .milliseconds(300))
        let after = try await self.harness.base.tasks.tasks([tasks[1].taskID, tasks[2].taskID])
        XCTAssertEqual(after.map(\.status), [.cancelled, .cancelled])
        XCTAssertEqual(after.first { $0.taskID == tasks[1].taskID }?.error, "dependency \(tasks[0].taskID) ended TASK_STATUS_FAILED")
        let unchanged = try await self.harness.base.tasks.countsByStatus()
        XCTAssertEqual(unchanged[.cancelled], counts[.cancelled])
        XCTAssertEqual(self.seen.order.withLock { $0 }, [])
        // Retrying the parent brings both back (RetryTask of b did not lose what its end named).
        _ = try await self.retry(tasks[0].taskID)
        let last = try await self.harness.waitForStatus(tasks[2].taskID, [.succeeded, .failed], timeout: .seconds(20))
        XCTAssertEqual(last.status, .succeeded)
        XCTAssertEqual(self.seen.order.withLock { $0 }, ["b", "c"])
    }

    /// A chain a <- b <- c, a (gated) cancelled while it runs, b and c
    /// cancelled with it; their ids.
    private func cancelledChain() async throws -> [String] {
        let gated = try await self.type("gated")
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(gated, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#1"])])
        _ = try await self.harness.waitForStatus(tasks[0].taskID, [.running], timeout: .seconds(20))
        _ = try await Caller.$current.withValue(.open) { try await self.service().cancelTask(.with { $0.taskID = tasks[0].taskID }) }
        _ = try await self.harness.waitForStatus(tasks[0].taskID, [.cancelled], timeout: .seconds(20))
        return tasks.map(\.taskID)
    }

    /// A parent and its dependent retried together (one bulk page): the
    /// dependent waits for the parent; a dependent whose parent stays
    /// ended is left out; what the retry counts is what it changed.
    func testRetryingAParentAndItsDependentsTogether() async throws {
        let all = try await self.cancelledChain()
        // b's parent a is not among them: b stays, and c (whose parent is b) with it.
        let none = try await self.harness.base.tasks.retryReviving(Array(all.dropFirst()), from: .cancelled, priority: nil, now: Date().roundedToMicroseconds)
        XCTAssertEqual(none.retried, [])
        XCTAssertEqual(Set(none.blocked.keys), Set(all.dropFirst()))
        XCTAssertEqual(none.blocked[all[1]]?.parent, all[0])
        let together = try await self.harness.base.tasks.retryReviving(all, from: .cancelled, priority: nil, now: Date().roundedToMicroseconds)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: together.retried.map { ($0.taskID, $0.status) }),
                       [all[0]: .queued, all[1]: .waiting, all[2]: .waiting])
        XCTAssertEqual(together.blocked.count, 0)
        let waitingOn = try await self.harness.base.mysql.query(
            "SELECT task_id, waiting_on, blocked_by FROM task WHERE task_id IN (?, ?)", [.string(all[1]), .string(all[2])]
        )
        XCTAssertEqual(waitingOn.map { $0.int("waiting_on") }, [1, 1])
        XCTAssertEqual(waitingOn.map { $0.string("blocked_by") }, [nil, nil])
        try await self.harness.base.broker.enqueue(together.retried.filter { $0.status == .queued })
        self.seen.gate.withLock { $0 = true }
        let c = try await self.harness.waitForStatus(all[2], [.succeeded, .cancelled, .failed], timeout: .seconds(20))
        XCTAssertEqual(c.status, .succeeded)
        XCTAssertEqual(self.seen.order.withLock { $0 }, ["b", "c"])
    }

    /// A retry of a parent and its dependent together, undone (Redis did
    /// not take it): both back as they were, the grandchild it revived
    /// CANCELLED again, and the dependent still names its parent, so
    /// retrying the parent later brings it back.
    func testAnUndoneRetryOfAParentAndItsDependentPutsBothBack() async throws {
        let ids = try await self.cancelledChain()
        let before = try await self.harness.base.tasks.tasks(ids).sorted { $0.taskID < $1.taskID }
        let counts = try await self.harness.base.tasks.countsByStatus()
        let retriedAt = Date().roundedToMicroseconds
        let outcome = try await self.harness.base.tasks.retryReviving(Array(ids.prefix(2)), from: .cancelled, priority: nil, now: retriedAt)
        XCTAssertEqual(outcome.retried.count, 2)
        XCTAssertEqual(outcome.revived.map(\.taskID), [ids[2]])
        try await self.harness.base.tasks.undoRetry(
            before.filter { ids.prefix(2).contains($0.taskID) }, retriedAt: retriedAt, now: retriedAt.addingTimeInterval(0.001)
        )
        let after = try await self.harness.base.tasks.tasks(ids).sorted { $0.taskID < $1.taskID }
        XCTAssertEqual(after.map(\.status), before.map(\.status))
        XCTAssertEqual(after.map(\.error), before.map(\.error))
        let blockedBy = try await self.harness.base.mysql.query(
            "SELECT task_id, blocked_by, waiting_on FROM task WHERE task_id IN (?, ?)", [.string(ids[1]), .string(ids[2])]
        )
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: blockedBy.map { ($0.string("task_id") ?? "", $0.string("blocked_by") ?? "") }),
                       [ids[1]: ids[0], ids[2]: ids[1]])
        let unchanged = try await self.harness.base.tasks.countsByStatus()
        XCTAssertEqual(unchanged[.cancelled], counts[.cancelled])
        XCTAssertEqual(unchanged[.waiting], counts[.waiting])
        // Retrying the parent brings them back.
        self.seen.gate.withLock { $0 = true }
        _ = try await self.retry(ids[0])
        let c = try await self.harness.waitForStatus(ids[2], [.succeeded, .failed], timeout: .seconds(20))
        XCTAssertEqual(c.status, .succeeded)
    }

    /// RetryTask whose queueing Redis refused answers UNAVAILABLE and
    /// changes nothing: not the task, nor the dependents its retry had
    /// brought back (they end CANCELLED again, naming it, not WAITING for
    /// ever behind a FAILED parent). A later RetryTask runs them all.
    func testARetryRedisRefusedLeavesNoDependentWaitingBehindAFailedParent() async throws {
        let flaky = try await self.type("flaky")
        let type = try await self.type("record")
        let tasks = try await self.batch([self.item(flaky, "a"), self.item(type, "b", ["#0"]), self.item(type, "c", ["#1"])])
        _ = try await self.harness.waitForStatus(tasks[2].taskID, [.cancelled], timeout: .seconds(20))
        let before = try await self.harness.base.tasks.tasks(tasks.map(\.taskID)).sorted { $0.taskID < $1.taskID }
        let counts = try await self.harness.base.tasks.countsByStatus()
        // The API node's Redis is away (nothing listens there).
        let deadRedis = RedisBroker(redis: try RedisClient(url: "redis://127.0.0.1:1", logger: self.harness.base.logger), keys: self.harness.base.keys)
        let cut = TaskService(nodeID: "cut", tasks: self.harness.base.tasks, configs: self.harness.cache, broker: deadRedis, hub: EventHub(),
                              logger: self.harness.base.logger)
        let refusal = await self.rpcError { _ = try await self.retry(tasks[0].taskID, service: cut) }
        XCTAssertEqual(refusal?.code, .unavailable)
        let after = try await self.harness.base.tasks.tasks(tasks.map(\.taskID)).sorted { $0.taskID < $1.taskID }
        XCTAssertEqual(after.map(\.status), before.map(\.status), "a retry that could not be queued changed nothing")
        XCTAssertEqual(after.map(\.error), before.map(\.error))
        let blockedBy = try await self.harness.base.mysql.query(
            "SELECT blocked_by FROM task WHERE task_id IN (?, ?) ORDER BY task_id", [.string(tasks[1].taskID), .string(tasks[2].taskID)]
        ).map { $0.string("blocked_by") }
        XCTAssertEqual(Set(blockedBy.compactMap { $0 }), [tasks[0].taskID, tasks[1].taskID])
        let unchanged = try await self.harness.base.tasks.countsByStatus()
        XCTAssertEqual(unchanged[.cancelled], counts[.cancelled])
        XCTAssertEqual(unchanged[.failed], counts[.failed])
        XCTAssertEqual(unchanged[.waiting], counts[.waiting])
        // Redis back (this node's): the retry runs the chain.
        _ = try await self.retry(tasks[0].taskID)
        let c = try await self.harness.waitForStatus(tasks[2].taskID, [.succeeded, .failed], timeout: .seconds(20))
        XCTAssertEqual(c.status, .succeeded)
        XCTAssertEqual(self.seen.order.withLock { $0 }, ["b", "c"])
    }

    /// What MySQL says is QUEUED but Redis never got (a dependent released
    /// by an outcome whose enqueue Redis refused; a retry whose enqueue and
    /// undo both failed) is queued by the leader's reconciler once it is
    /// `staleAfter` old, and runs.
    func testTheReconcilerQueuesWhatAReleaseOrARetryLeftOutOfRedis() async throws {
        let type = try await self.type("record")
        let parent = try await self.harness.create(type: type, payload: ["name": "p"], enqueue: false)
        let child = try await self.create(self.item(type, "child", [parent.taskID]))
        XCTAssertEqual(child.status, .waiting)
        let dead = try await self.harness.create(type: type, payload: ["name": "dead"], enqueue: false)
        // The parent runs on a worker whose outcome write releases the child, then Redis refuses the push.
        let worker = "\(self.harness.base.prefix)-gone"
        let now = Date().roundedToMicroseconds
        let started = try await self.harness.base.tasks.start([parent.taskID, dead.taskID], workerID: worker, now: now)
        XCTAssertEqual(started.count, 2)
        let (_, settled) = try await self.harness.base.tasks.recordWorkerOutcomes(
            [FinishedAttempt(taskID: parent.taskID, attempt: 1, status: .succeeded, result: "r-p", tenant: Tenant.default, hasDependents: true),
             FinishedAttempt(taskID: dead.taskID, attempt: 1, status: .failed, error: "boom", tenant: Tenant.default)],
            workerID: worker, now: now.addingTimeInterval(0.001)
        )
        XCTAssertEqual(settled.released.map(\.taskID), [child.taskID])
        // A retry committed in MySQL whose queueing never happened.
        let retried = try await self.harness.base.tasks.retry([dead.taskID], from: .failed, priority: nil, now: now.addingTimeInterval(0.002))
        XCTAssertEqual(retried.map(\.status), [.queued])
        try await Task.sleep(for: .milliseconds(500))
        let stuck = try await self.harness.base.tasks.tasks([child.taskID, dead.taskID])
        XCTAssertEqual(stuck.map(\.status), [.queued, .queued], "nothing runs them without the reconciler")

        var configuration = Reconciler.Configuration()
        configuration.interval = .milliseconds(200)
        configuration.staleAfter = 1
        let reconciler = Reconciler(broker: self.harness.base.broker, tasks: self.harness.base.tasks, configuration: configuration,
                                    logger: self.harness.base.logger)
        let term = self.harness.term
        let loop = Task { try await reconciler.run(term: term) }
        defer { loop.cancel() }
        let ranChild = try await self.harness.waitForStatus(child.taskID, [.succeeded, .failed], timeout: .seconds(10))
        XCTAssertEqual(ranChild.status, .succeeded)
        XCTAssertEqual(self.seen.results.withLock { $0[child.taskID] }, [parent.taskID: "r-p"])
        let ranDead = try await self.harness.waitForStatus(dead.taskID, [.succeeded, .failed], timeout: .seconds(10))
        XCTAssertEqual(ranDead.status, .succeeded)
    }

    // MARK: idempotency keys with "#N"

    /// A batch sent again with the same keys (a client's retry) answers the
    /// tasks of the first, creates nothing and no edge; "#N" naming an item
    /// that repeats an earlier item's key names that item's task.
    func testABatchSentAgainWithKeysAndItemReferencesAnswersTheSameTasks() async throws {
        let type = try await self.type("record")
        func keyed(_ name: String, _ key: String, _ dependsOn: [String] = []) -> Baton_V1_CreateTaskRequest {
            var item = self.item(type, name, dependsOn)
            item.idempotencyKey = key
            return item
        }
        let items = [keyed("a", "k-a"), keyed("b", "k-b", ["#0"]), keyed("c", "k-c", ["#0", "#1"])]
        let first = try await self.batch(items)
        let again = try await self.batch(items)
        XCTAssertEqual(again.map(\.taskID), first.map(\.taskID))
        XCTAssertEqual(again[2].dependsOn, [first[0].taskID, first[1].taskID])
        var created = try await self.count(type)
        XCTAssertEqual(created, 3)
        let edges = try await self.harness.base.mysql.query(
            "SELECT COUNT(*) AS n FROM task_dependency WHERE child_id IN (?, ?, ?)", first.map { .string($0.taskID) }
        ).first?.int("n")
        XCTAssertEqual(edges, 3)
        // Some items repeat, one is new: the new one depends on the repeated item's task.
        let mixed = try await self.batch([keyed("a", "k-a"), self.item(type, "d", ["#0"])])
        XCTAssertEqual(mixed[0].taskID, first[0].taskID)
        XCTAssertEqual(mixed[1].dependsOn, [first[0].taskID])
        // A key twice in one batch: "#1" names the task of item 0.
        let twice = try await self.batch([keyed("x", "k-x"), keyed("x", "k-x"), self.item(type, "y", ["#1"])])
        XCTAssertEqual(twice[1].taskID, twice[0].taskID)
        XCTAssertEqual(twice[2].dependsOn, [twice[0].taskID])
        // CreateTask with a key and depends_on, sent again.
        var single = self.item(type, "z", [first[0].taskID])
        single.idempotencyKey = "k-z"
        let z = try await self.create(single)
        let zAgain = try await Caller.$current.withValue(.open) { try await self.service().createTask(single) }
        XCTAssertTrue(zAgain.deduplicated)
        XCTAssertEqual(zAgain.task.taskID, z.taskID)
        created = try await self.count(type)
        XCTAssertEqual(created, 3 + 1 + 2 + 1)
        let y = try await self.harness.waitForStatus(twice[2].taskID, [.succeeded, .failed, .cancelled], timeout: .seconds(20))
        XCTAssertEqual(y.status, .succeeded)
    }
}

import BatonBroker
import BatonModel
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// Workers advertise what they run (remote executor kinds, local handlers);
/// the dispatcher sends a task only to a worker that runs its type, and the
/// tasks of a type no live worker runs wait, parked, holding back no other type.
final class AdvertisedTypesTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testATaskGoesOnlyToAWorkerThatRunsItsExecutor() async throws {
        let handler = "\(self.harness.prefix)_handler"
        let special = try await self.harness.type("special", endpoint: handler)
        let remote = try await self.harness.type("remote", executor: .http, endpoint: "http://127.0.0.1:9/run")
        let builtin = try await self.harness.type("builtin", endpoint: "noop")
        try await self.harness.registerWorker("a", capacity: 100, executors: ["@http", "noop"])
        try await self.harness.registerWorker("b", capacity: 100, executors: ["@grpc", handler, "noop"])
        for type in [special, remote, builtin] { try await self.harness.create(10, type: type) }
        let term = try await self.harness.lead()
        let dispatcher = self.harness.dispatcher()
        try await dispatcher.syncLimits()
        let moved = try await dispatcher.dispatchOnce(term: term)
        XCTAssertEqual(moved, 30)
        let onA = try await self.harness.inspector.waitingOn(worker: "a")
        let onB = try await self.harness.inspector.waitingOn(worker: "b")
        XCTAssertEqual(onA.filter { $0.taskType == special }.count, 0, "a never registered the handler")
        XCTAssertEqual(onB.filter { $0.taskType == special }.count, 10)
        XCTAssertEqual(onA.filter { $0.taskType == remote }.count, 10, "only a calls http")
        XCTAssertEqual((onA + onB).filter { $0.taskType == builtin }.count, 10)
    }

    func testATypeNoWorkerRunsIsParkedAndReportedAndRunsOnceAWorkerRunsIt() async throws {
        let missing = "\(self.harness.prefix)_missing"
        let orphan = try await self.harness.type("orphan", endpoint: missing)
        let served = try await self.harness.type("served")
        // A backlog longer than the look-ahead, in front of another type's work.
        let waiting = try await self.harness.create(40, type: orphan)
        let behind = try await self.harness.create(10, type: served)
        try await self.harness.registerWorker("a", capacity: 100, executors: ["@grpc", "@http", "noop"])
        let term = try await self.harness.lead()
        var configuration = Dispatcher.Configuration()
        configuration.heartbeatTTL = .seconds(60)
        configuration.lookAhead = 16
        let dispatcher = Dispatcher(
            broker: self.harness.broker, tasks: self.harness.tasks, configs: self.harness.configs, configuration: configuration, logger: self.harness.logger
        )
        try await dispatcher.syncLimits()
        var moved = 0
        for _ in 0..<6 { moved += try await dispatcher.dispatchOnce(term: term) }
        XCTAssertEqual(moved, 10)
        let onA = try await self.harness.inspector.waitingOn(worker: "a").map(\.taskID)
        XCTAssertEqual(onA, behind.map(\.taskID), "the other type's work passed the backlog")
        let parked = try await self.harness.inspector.entries(.parked(orphan)).map(\.taskID)
        XCTAssertEqual(parked, waiting.map(\.taskID), "parked, in order")
        let queue = try await self.harness.inspector.members(.queue(.normal))
        XCTAssertEqual(queue, [])
        for task in waiting.prefix(3) {
            let row = try await self.harness.tasks.task(task.taskID)
            XCTAssertEqual(row?.status, .queued, "waits, never failed")
        }
        // Reported (GetStats reads the snapshot), and left parked by the leader's sync.
        let unserved = try await self.harness.broker.snapshot().unservedTypes.filter { $0.taskType.hasPrefix(self.harness.prefix) }
        XCTAssertEqual(unserved.map(\.taskType), [orphan])
        XCTAssertEqual(unserved.first?.parked, 40)
        try await dispatcher.syncLimits()
        let stillParked = try await self.harness.inspector.members(.parked(orphan)).count
        XCTAssertEqual(stillParked, 40)

        // A worker that runs it registers: the leader's next sync gives the backlog back, and it goes there in order.
        try await self.harness.registerWorker("b", capacity: 100, executors: ["@grpc", "@http", missing])
        try await dispatcher.syncLimits()
        let unparked = try await self.harness.inspector.members(.parked(orphan)).count
        XCTAssertEqual(unparked, 0)
        moved = 0
        for _ in 0..<3 { moved += try await dispatcher.dispatchOnce(term: term) }
        XCTAssertEqual(moved, 40)
        let onB = try await self.harness.inspector.waitingOn(worker: "b").map(\.taskID)
        XCTAssertEqual(onB, waiting.map(\.taskID))
        let served2 = try await self.harness.broker.unservedTypes(heartbeatTTL: .seconds(60)).filter { $0.taskType == orphan }
        XCTAssertEqual(served2.count, 0)
    }

    /// A type the leader has not copied yet runs on any worker, and a worker
    /// that advertises nothing (an older release) runs every type: as before.
    func testTypesAndWorkersWithoutCapabilitiesRunAsBefore() async throws {
        let type = try await self.harness.type("uncopied", endpoint: "\(self.harness.prefix)_nowhere")
        try await self.harness.registerWorker("new", capacity: 100, executors: ["@http"])
        try await self.harness.create(3, type: type)
        let term = try await self.harness.lead()
        let dispatcher = self.harness.dispatcher()
        var moved = try await dispatcher.dispatchOnce(term: term)
        XCTAssertEqual(moved, 3, "not copied yet: any worker")

        try await dispatcher.syncLimits()
        try await self.harness.create(3, type: type)
        moved = try await dispatcher.dispatchOnce(term: term)
        XCTAssertEqual(moved, 0, "copied: the worker does not run it")
        try await self.harness.registerWorker("old", capacity: 100)
        try await dispatcher.syncLimits()
        moved = try await dispatcher.dispatchOnce(term: term)
        XCTAssertEqual(moved, 3, "a worker that advertises nothing runs it")
        let onOld = try await self.harness.inspector.waitingOn(worker: "old").count
        XCTAssertEqual(onOld, 3)
    }
}

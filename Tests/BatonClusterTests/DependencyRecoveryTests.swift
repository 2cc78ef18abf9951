import BatonBroker
import BatonModel
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// A parent whose worker dies mid-run, step by step on real MySQL and Redis
/// (a fake worker's dispatch, start and death; the leader's recovery): its
/// dependents wait through the new attempt and are released once, by the
/// attempt that succeeds, never by the dead worker's late outcome; at the
/// loss cap, or timed out by the leader, the parent ends and they end
/// CANCELLED, announced to their watchers.
final class DependencyRecoveryTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }

    override func tearDown() async throws {
        try await self.harness.mysql.execute(
            "DELETE d FROM task_dependency d JOIN task t ON t.task_id = d.child_id WHERE t.task_type LIKE ?", [.string("\(self.harness.prefix)%")]
        )
        try await self.harness.shutdown()
    }

    /// A parent (QUEUED, enqueued) and a child that depends on it (WAITING).
    private func parentAndChild(_ type: String) async throws -> (parent: TaskRecord, child: TaskRecord) {
        let now = Date().roundedToMicroseconds
        let drafts = (0..<2).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .queued, maxRetries: 0, timeoutSeconds: 30,
                       createdAt: now, updatedAt: now)
        }
        let tasks = try await self.harness.tasks.insertWithDependencies(drafts, dependsOn: [[], [.item(0)]], now: now)
        XCTAssertEqual(tasks.map(\.status), [.queued, .waiting])
        try await self.harness.broker.enqueue([tasks[0]])
        return (tasks[0], tasks[1])
    }

    /// As a worker would: registers, is dispatched the parent, moves it in flight and starts it.
    private func start(on worker: String, term: LeaderState.Term) async throws -> TaskRecord {
        try await self.harness.registerWorker(worker, capacity: 10)
        try await self.harness.dispatcher().dispatchOnce(term: term)
        let member = try await self.harness.inspector.moveHead(from: .workerQueue(worker, .normal), to: .inFlight(worker))
        let entry = try XCTUnwrap(member.flatMap(QueueEntry.init(member:)), "nothing dispatched to \(worker)")
        let started = try await self.harness.tasks.start([(entry.taskID, entry.generation)], workerID: worker, now: Date().roundedToMicroseconds)
        return try XCTUnwrap(started.first)
    }

    private func recoverer(cap: Int) -> DeadWorkerRecoverer {
        var configuration = DeadWorkerRecoverer.Configuration()
        configuration.maxWorkerLosses = cap
        return DeadWorkerRecoverer(broker: self.harness.broker, tasks: self.harness.tasks, configuration: configuration, logger: self.harness.logger)
    }

    private func succeeded(_ task: TaskRecord) -> FinishedAttempt {
        FinishedAttempt(taskID: task.taskID, attempt: task.attempt, status: .succeeded, result: "done-\(task.attempt)", tenant: task.tenant,
                        hasDependents: task.hasDependents)
    }

    func testAParentWhoseWorkerDiedReleasesItsDependentOnceFromItsNewAttempt() async throws {
        let type = try await self.harness.type("killed")
        let (parent, child) = try await self.parentAndChild(type)
        let term = try await self.harness.lead()
        let first = try await self.start(on: "doomed", term: term)
        XCTAssertEqual(first.attempt, 1)
        XCTAssertTrue(first.hasDependents)

        // The worker dies mid-run: the leader gives the parent a new attempt; the child waits on.
        try await self.harness.age(worker: "doomed", by: 30)
        let reclaimed = try await self.recoverer(cap: 3).recoverOnce(term: term)
        XCTAssertEqual(reclaimed, ["doomed"])
        let requeued = try await self.harness.tasks.task(parent.taskID)
        XCTAssertEqual(requeued?.status, .queued)
        let waiting = try await self.harness.tasks.task(child.taskID)
        XCTAssertEqual(waiting?.status, .waiting)

        let second = try await self.start(on: "healthy", term: term)
        XCTAssertEqual(second.taskID, parent.taskID)
        XCTAssertEqual(second.attempt, 2)

        // The dead worker's outcome, late: it matches no row and releases nothing.
        let late = try await self.harness.tasks.recordWorkerOutcomes([self.succeeded(first)], workerID: "doomed", now: Date().roundedToMicroseconds)
        XCTAssertEqual(late.applied, [])
        XCTAssertTrue(late.settled.isEmpty)
        let stillWaiting = try await self.harness.tasks.task(child.taskID)
        XCTAssertEqual(stillWaiting?.status, .waiting)

        // The new attempt succeeds: the child is released, once, with the new result.
        let done = try await self.harness.tasks.recordWorkerOutcomes([self.succeeded(second)], workerID: "healthy", now: Date().roundedToMicroseconds)
        XCTAssertEqual(done.applied, [parent.taskID])
        XCTAssertEqual(done.settled.released.map(\.taskID), [child.taskID])
        let row = try await self.harness.tasks.task(child.taskID)
        let released = try await self.harness.tasks.withDependencyResults([try XCTUnwrap(row)])
        XCTAssertEqual(released.first?.status, .queued)
        XCTAssertEqual(released.first?.dependencyResults, [parent.taskID: "done-2"])
        let again = try await self.harness.tasks.recordWorkerOutcomes([self.succeeded(second)], workerID: "healthy", now: Date().roundedToMicroseconds)
        XCTAssertTrue(again.settled.isEmpty, "a repeated outcome releases nothing")
    }

    /// The task ids announced to watchers so far (the events stream).
    private func announced() async throws -> [String] {
        try await self.harness.inspector.events().compactMap { fields in
            fields.count == 4 && fields[0] == "k" && fields[1] == "task" ? fields[3] : nil
        }
    }

    /// The parent ended `status`; its (watched) child ended CANCELLED naming
    /// it, and that change was announced.
    private func assertEnded(_ parent: TaskRecord, _ status: TaskStatus, cancelling child: TaskRecord, line: UInt = #line) async throws {
        let ended = try await self.harness.tasks.task(parent.taskID)
        XCTAssertEqual(ended?.status, status, line: line)
        let cancelled = try await self.harness.tasks.task(child.taskID)
        XCTAssertEqual(cancelled?.status, .cancelled, line: line)
        XCTAssertEqual(cancelled?.error, "dependency \(parent.taskID) ended \(status.wireName)", line: line)
        let announced = try await self.announced()
        XCTAssertTrue(announced.contains(child.taskID), "the cancelled dependent's change is announced: \(announced)", line: line)
    }

    /// A parent running on `worker` and its child, which a client watches.
    private func watchedChildOfARunningParent(_ name: String, on worker: String) async throws -> (TaskRecord, TaskRecord, LeaderState.Term) {
        let (parent, child) = try await self.parentAndChild(try await self.harness.type(name))
        try await self.harness.broker.watch(child.taskID, lease: .seconds(60))
        let term = try await self.harness.lead()
        _ = try await self.start(on: worker, term: term)
        return (parent, child, term)
    }

    /// At the loss cap the parent fails and its dependent ends CANCELLED,
    /// announced to its watchers (a client waiting on it hears it at once,
    /// not at its fallback read 10 s later).
    func testAParentThatLostItsLastWorkerCancelsItsDependentAndSaysSo() async throws {
        let (parent, child, term) = try await self.watchedChildOfARunningParent("lost", on: "doomed")
        try await self.harness.age(worker: "doomed", by: 30)
        _ = try await self.recoverer(cap: 1).recoverOnce(term: term)
        try await self.assertEnded(parent, .failed, cancelling: child)
    }

    /// A parent that timed out with nobody reporting it (the leader's
    /// timeout recovery): its dependent ends CANCELLED, announced.
    func testAParentTimedOutByTheLeaderCancelsItsDependentAndSaysSo() async throws {
        let (parent, child, term) = try await self.watchedChildOfARunningParent("late", on: "hung")
        let recoverer = TimeoutRecoverer(
            broker: self.harness.broker, tasks: self.harness.tasks, configs: TaskConfigCache(store: self.harness.configs), logger: self.harness.logger
        )
        let ended = try await recoverer.recoverOnce(term: term, now: Date().addingTimeInterval(3600))
        XCTAssertGreaterThanOrEqual(ended, 1)
        try await self.assertEnded(parent, .timeout, cancelling: child)
    }
}

import BatonAuth
import BatonBroker
import BatonModel
import BatonProto
import BatonService
import BatonStore
import GRPCCore
import Foundation
import Logging
import Synchronization
import XCTest

/// A watch hears a change that lands right after its first read: workers
/// announce a task's changes only while it is watched, so the watch is
/// registered before that read (it was registered after it, and such a
/// change then waited for the slow fallback re-read, 10 s by default).
final class WatchStartTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws { self.harness = try await APIHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testAChangeRightAfterTheFirstReadIsHeard() async throws {
        let harness = self.harness!
        let type = try await harness.configure("watch_start")
        let tasks = TaskStore(mysql: harness.mysql)
        // A fallback far beyond the test's patience: only the announcement can end the watch in time.
        let service = TaskService(
            nodeID: "watch-test", tasks: tasks, configs: TaskConfigCache(store: TaskConfigStore(mysql: harness.mysql)),
            broker: harness.broker, hub: harness.hub, logger: Logger(label: "watch-test"), watchFallback: .seconds(60)
        )
        let created = try await service.createTask(.with { $0.taskType = type }).task
        let seen = Seen()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await service.watchTask(.with { $0.taskID = created.taskID }) { task in
                    guard seen.add(task.status) == 1 else { return }
                    // As a worker does, right after the watcher's first read:
                    // the row first, then the announcement.
                    try await harness.mysql.execute(
                        "UPDATE task SET status = ?, finished_at = ?, updated_at = ? WHERE task_id = ?",
                        [.int(Int64(TaskStatus.succeeded.rawValue)), .date(Date()), .date(Date()), .string(created.taskID)]
                    )
                    try await harness.broker.announce([created.taskID])
                }
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(5))
                return false
            }
            let ended = try await group.next() ?? false
            group.cancelAll()
            XCTAssertTrue(ended, "the watch heard the change (it waited \(ContinuousClock.now - started))")
        }
        XCTAssertEqual(seen.statuses, [.queued, .succeeded])
    }

    /// An unknown id, and another tenant's task, are NOT_FOUND before the
    /// watch is registered: no announcement lease is left in Redis for them.
    func testAnUnknownOrForeignTaskIsRefusedBeforeAnyWatchIsRegistered() async throws {
        let harness = self.harness!
        let type = try await harness.configure("watch_refused")
        let service = TaskService(
            nodeID: "watch-test", tasks: TaskStore(mysql: harness.mysql), configs: TaskConfigCache(store: TaskConfigStore(mysql: harness.mysql)),
            broker: harness.broker, hub: harness.hub, logger: Logger(label: "watch-test")
        )
        let owner = Caller(keyID: "alpha", role: .submitter, tenant: "alpha")
        let created = try await Caller.$current.withValue(owner) { try await service.createTask(.with { $0.taskType = type }).task }
        let stranger = Caller(keyID: "beta", role: .viewer, tenant: "beta")
        for (taskID, caller) in [(TaskID.make(), owner), (created.taskID, stranger)] {
            let code = await APIHarness.code {
                try await Caller.$current.withValue(caller) { try await service.watchTask(.with { $0.taskID = taskID }) { _ in } }
            }
            XCTAssertEqual(code, .notFound, taskID)
            let lease = try await harness.inspector.score(of: taskID, in: .watchers)
            XCTAssertNil(lease, "a watch lease was registered for \(taskID)")
        }
    }
}

/// The statuses a watch wrote, in order.
private final class Seen: Sendable {
    private let state = Mutex<[Baton_V1_TaskStatus]>([])
    var statuses: [Baton_V1_TaskStatus] { self.state.withLock { $0 } }

    /// Returns how many were written, this one included.
    func add(_ status: Baton_V1_TaskStatus) -> Int {
        self.state.withLock { $0.append(status); return $0.count }
    }
}

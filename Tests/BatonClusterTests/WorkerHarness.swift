import BatonBroker
import BatonKit
import BatonModel
import BatonScheduler
import BatonStore
import BatonWorker
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import BatonTestSupport
import XCTest

/// A worker with a leader's dispatcher and promoter around it, in-process.
final class WorkerHarness: Sendable {
    let base: SchedulerHarness
    let worker: Worker
    let registry: ExecutorRegistry
    let cache: TaskConfigCache
    let http: HTTPExecutor
    /// Fed by the harness's event stream reader: what an API node's watches hear.
    let hub: EventHub
    private let group: ServiceGroup
    /// The leadership its dispatcher and promoter run under (for other leader loops a test runs).
    let term: LeaderState.Term
    /// Why the worker's service group ended with an error, if it did.
    let ended = EndedWith()
    private let leading: Task<Void, Never>
    private let running: Task<Void, Never>

    /// `egress` and `trustRootsFile` configure both remote executors;
    /// `logger`, when given, is the worker's and executors' process log.
    /// `configStore`, when given, is where the worker reads task types (the
    /// cluster's MySQL otherwise).
    init(
        capacity: Int = 4, gracePeriod: Duration = .seconds(5), egress: EgressGuard = EgressGuard(), trustRootsFile: String? = nil,
        logger: Logger? = nil, configStore: TaskConfigStore? = nil, startWriteAfter: Duration = .milliseconds(250)
    ) async throws {
        let base = try await SchedulerHarness()
        let logger = logger ?? base.logger
        self.base = base
        self.cache = TaskConfigCache(store: configStore ?? base.configs, maxAge: .milliseconds(200))
        let hub = EventHub()
        self.hub = hub
        var configuration = WorkerConfiguration(nodeID: "test", workerID: "\(base.prefix)-worker")
        configuration.capacity = capacity
        configuration.gracePeriod = gracePeriod
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.pollTimeout = .milliseconds(300)
        configuration.startWriteAfter = startWriteAfter
        let parts = WorkerAssembly(
            configuration: configuration, broker: base.broker, tasks: base.tasks, configs: self.cache, egress: egress, trustRootsFile: trustRootsFile,
            logger: logger
        )
        self.registry = parts.registry
        self.http = parts.http
        self.worker = parts.worker
        self.group = ServiceGroup(
            services: [EventStreamReader(broker: base.broker, hub: hub, logger: base.logger, pollInterval: .milliseconds(200)),
                       ConfigInvalidation(hub: hub, cache: self.cache)] + parts.services,
            logger: logger
        )
        let term = try await base.lead()
        self.term = term
        var leading = LeaderLoops.Configuration()
        leading.dispatcher.idleWait = .milliseconds(100)
        leading.promoterIdle = .milliseconds(100)
        let loops = LeaderLoops(
            broker: base.broker, tasks: base.tasks, configs: base.configs, configCache: self.cache, schedules: ScheduleStore(mysql: base.mysql),
            configuration: leading, logger: base.logger
        )
        self.leading = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await loops.dispatcher.run(term: term) }
                group.addTask { try? await loops.promoter.run(term: term) }
            }
        }
        self.running = Task { [group, ended] in
            do { try await group.run() } catch { ended.error = "\(error)" }
        }
    }

    /// A type run by `executor` at `handler` (a local handler, URL or host:port).
    func type(
        _ name: String, handler: String, executor: TaskConfigRecord.Executor = .local, timeout: Int = 30, retries: Int = 0,
        backoffMs: Int = 100, headers: [String: String] = [:]
    ) async throws -> String {
        let type = "\(self.base.prefix)_\(name)"
        try await self.base.configs.put(
            TaskConfigRecord(taskType: type, executor: executor, endpoint: handler, timeoutSeconds: timeout, maxRetries: retries,
                             retryBackoffMs: backoffMs, headers: headers)
        )
        return type
    }

    /// A task stored and queued; only stored when `enqueue` is false.
    func create(
        type: String, payload: [String: String] = [:], args: String? = nil, retries: Int = 0, timeout: Int = 30, tenant: String = Tenant.default,
        priority: TaskPriority = .normal, enqueue: Bool = true
    ) async throws -> TaskRecord {
        let now = Date().roundedToMicroseconds
        let record = TaskRecord(taskID: TaskID.make(), taskType: type, priority: priority, payload: payload, args: args, status: .queued,
                                maxRetries: retries, timeoutSeconds: timeout, createdAt: now, updatedAt: now, tenant: tenant)
        try await self.base.tasks.insert([record])
        if enqueue { try await self.base.broker.enqueue([record]) }
        return record
    }

    func task(_ id: String) async throws -> TaskRecord { try await self.base.tasks.task(id)! }

    /// Task `id` once it is in one of `statuses`, or as it is after
    /// `timeout` (a test failure then, naming the status it was in).
    func waitForStatus(
        _ id: String, _ statuses: Set<TaskStatus>, timeout: Duration = .seconds(15), file: StaticString = #filePath, line: UInt = #line
    ) async throws -> TaskRecord {
        let reached = try await TestEnvironment.waitUntil(timeout: timeout) { statuses.contains(try await self.task(id).status) }
        let task = try await self.task(id)
        XCTAssertTrue(reached, "task is \(task.status), expected \(statuses)", file: file, line: line)
        return task
    }

    func logs(_ id: String) async throws -> [String] {
        try await self.base.tasks.logs(id, afterID: 0, limit: 1000).map(\.message)
    }

    /// Stops the worker gracefully (drains, hands back).
    func stopWorker() async {
        await self.group.triggerGracefulShutdown()
        await self.running.value
    }

    func shutdown() async throws {
        await self.stopWorker()
        try await self.http.shutdown()
        self.leading.cancel()
        await self.leading.value
        try await self.base.shutdown()
    }
}

/// The error a service group ended with.
final class EndedWith: Sendable {
    private let state = Mutex<String?>(nil)

    var error: String? {
        get { self.state.withLock { $0 } }
        set { self.state.withLock { $0 = newValue } }
    }
}

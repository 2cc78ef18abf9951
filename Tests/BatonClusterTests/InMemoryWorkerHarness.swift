import BatonBroker
import BatonModel
import BatonStore
import BatonTestSupport
import BatonWorker
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A real `Worker` on an in-memory broker and store (`InMemoryWorkerBroker`,
/// `InMemoryAttemptStore`): no Redis, no MySQL, no leader. A test gives it
/// entries as the dispatcher would, runs them with local handlers whose
/// calls it counts, and reads what the worker wrote. `WorkerHarness` runs
/// the same worker on real servers.
final class InMemoryWorkerHarness: Sendable {
    let broker: InMemoryWorkerBroker
    let store = InMemoryAttemptStore()
    let configuration: WorkerConfiguration
    private let registry = ExecutorRegistry()
    private let types: [String: TaskConfigRecord]
    private let calls = Mutex<[String: Int]>([:])
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// `types`: each a local handler's name, with its retries and backoff.
    init(capacity: Int = 4, gracePeriod: Duration = .seconds(5), readyLimit: Duration = .milliseconds(250), types: [TaskConfigRecord]) {
        var configuration = WorkerConfiguration(nodeID: "memory", workerID: "memory-worker")
        configuration.capacity = capacity
        configuration.gracePeriod = gracePeriod
        configuration.readyLimit = readyLimit
        configuration.pollTimeout = .milliseconds(50)
        self.configuration = configuration
        self.broker = InMemoryWorkerBroker(workerID: configuration.workerID)
        let types = Dictionary(types.map { ($0.taskType, $0) }, uniquingKeysWith: { $1 })
        self.types = types
        var logger = Logger(label: "in-memory-worker")
        logger.logLevel = .error
        let logs = TaskLogWriter(store: self.store, logger: logger)
        let worker = Worker(
            configuration: configuration, broker: self.broker, tasks: self.store, configs: TaskConfigCache { types[$0] }, registry: self.registry,
            logs: logs, logger: logger
        )
        self.group = ServiceGroup(services: [logs, worker], logger: logger)
        self.running = Task { [group = self.group] in try await group.run() }
    }

    /// A type run by the local handler of its name, which fails or times out as `retries` and `backoffMs` say.
    static func type(_ name: String, retries: Int = 0, backoffMs: Int = 100, timeout: Int = 30) -> TaskConfigRecord {
        TaskConfigRecord(taskType: name, executor: .local, timeoutSeconds: timeout, maxRetries: retries, retryBackoffMs: backoffMs)
    }

    /// Registers the handler of type `name`; its calls are counted per task.
    func handle(_ name: String, _ handler: @escaping LocalExecutor.Handler) {
        self.registry.register(name) { [weak self] context, payload in
            self?.calls.withLock { $0[context.taskID, default: 0] += 1 }
            return try await handler(context, payload)
        }
    }

    /// How many times a handler was called for the task.
    func calls(_ taskID: String) -> Int { self.calls.withLock { $0[taskID, default: 0] } }

    /// Tasks QUEUED in the store; given to the worker too unless `give` is false.
    @discardableResult
    func create(_ count: Int, type: String, priority: TaskPriority = .normal, give: Bool = true) -> [TaskRecord] {
        let config = self.types[type]
        let now = Date().roundedToMicroseconds
        let tasks = (0..<count).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: priority, payload: [:], status: .queued, maxRetries: config?.maxRetries ?? 0,
                       timeoutSeconds: config?.timeoutSeconds ?? 30, createdAt: now, updatedAt: now)
        }
        self.store.insert(tasks)
        if give { self.broker.give(tasks.map(QueueEntry.init)) }
        return tasks
    }

    /// Waits up to 10 s for `condition`; false if it never held.
    func eventually(_ condition: () -> Bool) async throws -> Bool {
        try await TestEnvironment.waitUntil(every: .milliseconds(2)) { condition() }
    }

    /// A graceful stop, as SIGTERM's: returns once the worker drained.
    func stop() async throws {
        await self.group.triggerGracefulShutdown()
        try await self.running.value
    }
}

import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import Synchronization
import Logging

/// Real MySQL and Redis with a Redis namespace and task types of its own;
/// helpers to create tasks and fake workers; cleans up what it made.
final class SchedulerHarness: Sendable {
    let mysql: MySQLClient
    private let redis: RedisClient
    let keys: RedisKeys
    let broker: RedisBroker
    /// The broker's state by what it means, and the faults a test makes in it.
    let inspector: BrokerInspector
    let tasks: TaskStore
    let configs: TaskConfigStore
    let prefix: String
    let logger = Logger(label: "scheduler-test")

    init() async throws {
        self.mysql = try MySQLClient(url: TestEnvironment.mysqlURL, logger: self.logger)
        try await MySQLMigrator(directory: TestEnvironment.migrationsDirectory, logger: self.logger).migrate(self.mysql)
        self.redis = try RedisClient(url: TestEnvironment.redisURL, logger: self.logger)
        self.keys = RedisKeys(namespace: TestEnvironment.uniqueName("sched"))
        self.broker = RedisBroker(redis: self.redis, keys: self.keys)
        self.inspector = BrokerInspector(self.broker)
        self.tasks = TaskStore(mysql: self.mysql)
        self.configs = TaskConfigStore(mysql: self.mysql)
        self.prefix = TestEnvironment.uniqueName("s").replacingOccurrences(of: "-", with: "_")
    }

    func type(
        _ name: String, maxConcurrency: Int = 0, rateLimit: Int = 0, retries: Int = 0, executor: TaskConfigRecord.Executor = .local,
        endpoint: String = "noop"
    ) async throws -> String {
        let type = "\(self.prefix)_\(name)"
        try await self.configs.put(
            TaskConfigRecord(taskType: type, executor: executor, endpoint: endpoint, timeoutSeconds: 30, maxRetries: retries,
                             retryBackoffMs: 100, maxConcurrency: maxConcurrency, rateLimitPerSecond: rateLimit)
        )
        return type
    }

    /// Creates tasks as the API does: committed, then enqueued.
    @discardableResult
    func create(_ count: Int, type: String, priority: TaskPriority = .normal, runAt: Date? = nil) async throws -> [TaskRecord] {
        let now = Date().roundedToMicroseconds
        let records = (0..<count).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: priority, payload: [:], status: .queued,
                       maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now, runAt: runAt)
        }
        try await self.tasks.insert(records)
        try await self.broker.enqueue(records)
        return records
    }

    /// Registers a worker as its heartbeat would; `executors` nil: one that
    /// advertises none (of an older release), which runs every executor.
    func registerWorker(_ id: String, capacity: Int, window: Int? = nil, types: [String] = [], executors: [String]? = nil) async throws {
        _ = try await self.broker.heartbeat(
            workerID: id, ttl: .seconds(60),
            registration: WorkerRegistration(nodeID: "test", capacity: capacity, window: window, taskTypes: types, executors: executors)
        )
    }

    /// Holds every row of the finished-task counts for `duration` in a
    /// transaction of its own, so an outcome's write stops after its UPDATE
    /// and keeps that UPDATE's locks. Returns once the lock is held (throws
    /// if it is not within 2 s); the task ends when the lock goes.
    func holdFinishedCounts(for duration: Duration) async throws -> Task<Void, any Error> {
        try await self.hold("SELECT status FROM task_status_count FOR UPDATE", for: duration)
    }

    /// Holds a task's row for `duration` (a write of it waits), as
    /// `holdFinishedCounts`; with `cancelling`, the holder has cancelled the
    /// task by the time it lets go.
    func holdTask(_ taskID: String, for duration: Duration, cancelling: Bool = false) async throws -> Task<Void, any Error> {
        let id = MySQLValue.string(taskID)
        var statements: [(String, [MySQLValue])] = [("SELECT task_id FROM task WHERE task_id = ? FOR UPDATE", [id])]
        if cancelling { statements.append(("UPDATE task SET status = ? WHERE task_id = ?", [.int(Int64(TaskStatus.cancelled.rawValue)), id])) }
        return try await self.hold(statements, for: duration)
    }

    private func hold(_ lock: String, for duration: Duration) async throws -> Task<Void, any Error> {
        try await self.hold([(lock, [])], for: duration)
    }

    /// On a client of its own: a held connection of the shared pool would
    /// hold back the writes under test for want of a connection, not the lock.
    /// Cancelling the returned task lets go at once (the transaction runs
    /// in a task of its own: a cancelled task could not commit).
    private func hold(_ statements: [(String, [MySQLValue])], for duration: Duration) async throws -> Task<Void, any Error> {
        let locked = Mutex(false)
        let (letGo, release) = AsyncStream.makeStream(of: Void.self)
        let timer = Task {
            try? await Task.sleep(for: duration)
            release.finish()
        }
        let transaction = Task { [configuration = self.mysql.configuration, logger = self.logger] in
            let mysql = MySQLClient(configuration: configuration, logger: logger)
            do {
                try await mysql.withTransaction { session in
                    for (statement, binds) in statements { _ = try await session.execute(statement, binds) }
                    locked.withLock { $0 = true }
                    for await _ in letGo {}
                }
            } catch {
                try? await mysql.shutdown()
                throw error
            }
            try await mysql.shutdown()
        }
        let holder = Task {
            defer { timer.cancel() }
            try await withTaskCancellationHandler { try await transaction.value } onCancel: { release.finish() }
        }
        guard try await TestEnvironment.waitUntil(timeout: .seconds(2), { locked.withLock { $0 } }) else {
            holder.cancel()
            throw CancellationError()
        }
        return holder
    }

    /// A dispatcher that sees workers registered for a minute (`registerWorker`)
    /// and keeps no share of their capacity for high work.
    func dispatcher() -> Dispatcher {
        var configuration = Dispatcher.Configuration()
        configuration.heartbeatTTL = .seconds(60)
        configuration.highReserve = 0
        return Dispatcher(broker: self.broker, tasks: self.tasks, configs: self.configs, configuration: configuration, logger: self.logger)
    }

    /// Makes a registered worker's last heartbeat `seconds` old.
    func age(worker id: String, by seconds: Double) async throws {
        let now = try await self.inspector.serverTime()
        try await self.inspector.add(id, score: Int64((now - seconds) * 1000), to: .workers)
    }

    /// Takes the lock as `value` (a fake leader) and returns its term,
    /// recorded in MySQL as the elector records it (its MySQL writes fenced).
    func lead(as value: String = "test|\(UUID().uuidString)", ttl: Duration = .seconds(60)) async throws -> LeaderState.Term {
        try await self.inspector.setLeaderLock(value, ttl: ttl)
        let epoch = try await self.inspector.bumpLeaderEpoch()
        _ = try await LeaderEpochStore(mysql: self.mysql).claim(cluster: self.keys.namespace, epoch: epoch, now: Date())
        return LeaderState.Term(epoch: epoch, lockValue: value, fence: LeaderFence(cluster: self.keys.namespace, epoch: epoch))
    }

    func shutdown() async throws {
        let like = self.prefix + "\\_%"
        try await self.mysql.execute("DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM task WHERE task_type LIKE ?)", [.string(like)])
        try await self.mysql.execute("DELETE FROM task_idempotency WHERE task_type LIKE ?", [.string(like)])
        try await self.mysql.execute("DELETE FROM task WHERE task_type LIKE ?", [.string(like)])
        try await self.mysql.execute("DELETE FROM task_config WHERE task_type LIKE ?", [.string(like)])
        try await self.mysql.execute("DELETE FROM leader_epoch WHERE cluster = ?", [.string(self.keys.namespace)])
        try await self.mysql.execute("DELETE FROM worker_fence WHERE cluster = ?", [.string(self.keys.namespace)])
        try await self.inspector.deleteNamespace()
        try await self.redis.shutdown()
        try await self.mysql.shutdown()
    }
}

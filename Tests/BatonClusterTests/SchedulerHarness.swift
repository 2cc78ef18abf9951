import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonStore
import BatonTestSupport
import Foundation
import Logging

/// Real MySQL and Redis with a Redis namespace and task types of its own;
/// helpers to create tasks and fake workers; cleans up what it made.
final class SchedulerHarness: Sendable {
    let mysql: MySQLClient
    let redis: RedisClient
    let keys: RedisKeys
    let broker: RedisBroker
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
        self.tasks = TaskStore(mysql: self.mysql)
        self.configs = TaskConfigStore(mysql: self.mysql)
        self.prefix = TestEnvironment.uniqueName("s").replacingOccurrences(of: "-", with: "_")
    }

    func type(_ name: String, maxConcurrency: Int = 0, rateLimit: Int = 0, retries: Int = 0) async throws -> String {
        let type = "\(self.prefix)_\(name)"
        try await self.configs.put(
            TaskConfigRecord(taskType: type, executor: .local, endpoint: "noop", timeoutSeconds: 30, maxRetries: retries,
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

    /// Registers a worker as its heartbeat would.
    func registerWorker(_ id: String, capacity: Int, types: [String] = [], beatAt: Date = Date()) async throws {
        try await self.redis.run(
            BrokerScripts.heartbeat,
            keys: [self.keys.workers, self.keys.worker(id)],
            arguments: [id, String(Int64(beatAt.timeIntervalSince1970 * 1000)), "60000",
                        "node_id", "test", "capacity", String(capacity), "running", "0", "queued", "0",
                        "types", types.isEmpty ? "*" : types.joined(separator: ","), "draining", "0"]
        )
    }

    func list(_ key: String) async throws -> [String] {
        try await self.redis.send("LRANGE", key, 0, -1).array?.compactMap(\.string) ?? []
    }

    func entries(_ key: String) async throws -> [QueueEntry] {
        try await self.list(key).compactMap { QueueEntry(member: $0) }
    }

    /// Takes the lock as `value` (a fake leader) and returns its term.
    func lead(as value: String = "test|\(UUID().uuidString)") async throws -> LeaderState.Term {
        try await self.redis.send("SET", self.keys.leader, value, "PX", 60_000)
        let epoch = try await self.redis.send("INCR", self.keys.leaderEpoch).int ?? 0
        return LeaderState.Term(epoch: epoch, lockValue: value)
    }

    func shutdown() async throws {
        let like = self.prefix + "\\_%"
        try await self.mysql.execute("DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM task WHERE task_type LIKE ?)", [.string(like)])
        try await self.mysql.execute("DELETE FROM task WHERE task_type LIKE ?", [.string(like)])
        try await self.mysql.execute("DELETE FROM task_config WHERE task_type LIKE ?", [.string(like)])
        let keys = try await self.redis.send("KEYS", "\(self.keys.namespace):*").array ?? []
        if !keys.isEmpty { try await self.redis.send(RedisCommand("DEL", keys.compactMap(\.bytes))) }
        try await self.redis.shutdown()
        try await self.mysql.shutdown()
    }
}

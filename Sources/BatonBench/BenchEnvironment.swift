import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonStore
import Foundation
import Logging

/// MySQL, Redis, a scratch namespace and task type for one benchmark; removed afterwards.
struct BenchEnvironment {
    let mysql: MySQLClient
    let redis: RedisClient
    let broker: RedisBroker
    let tasks: TaskStore
    let configs: TaskConfigStore
    let taskType: String
    let logger: Logger

    static func make(stores: StoreOptions) async throws -> BenchEnvironment {
        var logger = Logger(label: "baton-bench")
        logger.logLevel = .warning
        var mysqlConfiguration = try MySQLConfiguration(url: stores.mysql)
        mysqlConfiguration.maxConnections = 32
        let mysql = MySQLClient(configuration: mysqlConfiguration, logger: logger)
        try await MySQLMigrator(directory: URL(fileURLWithPath: "sql"), logger: logger).migrate(mysql)
        var redisConfiguration = try RedisConfiguration(url: stores.redis)
        redisConfiguration.maxConnections = 32
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let broker = RedisBroker(redis: redis, keys: RedisKeys(namespace: "bench-\(UUID().uuidString.prefix(8))"))
        let configs = TaskConfigStore(mysql: mysql)
        let taskType = "bench_noop_\(Int.random(in: 0..<1_000_000))"
        try await configs.put(TaskConfigRecord(taskType: taskType, executor: .local, endpoint: "noop", timeoutSeconds: 60, maxRetries: 0, retryBackoffMs: 1000))
        return BenchEnvironment(mysql: mysql, redis: redis, broker: broker, tasks: TaskStore(mysql: mysql), configs: configs, taskType: taskType, logger: logger)
    }

    /// Commits `count` QUEUED noop tasks in batches; returns them.
    func createTasks(_ count: Int) async throws -> [TaskRecord] {
        let now = Date().roundedToMicroseconds
        var all: [TaskRecord] = []
        for start in stride(from: 0, to: count, by: 1000) {
            let batch = (start..<min(start + 1000, count)).map { _ in
                TaskRecord(taskID: TaskID.make(), taskType: self.taskType, priority: .normal, payload: [:], status: .queued,
                           maxRetries: 0, timeoutSeconds: 60, createdAt: now, updatedAt: now)
            }
            try await self.tasks.insert(batch)
            all += batch
        }
        return all
    }

    func cleanUp() async throws {
        try await self.mysql.execute("DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM task WHERE task_type = ?)", [.string(self.taskType)])
        try await self.mysql.execute("DELETE FROM task WHERE task_type = ?", [.string(self.taskType)])
        try await self.mysql.execute("DELETE FROM task_config WHERE task_type = ?", [.string(self.taskType)])
        try await BrokerInspector(self.broker).deleteNamespace()
        try await self.redis.shutdown()
        try await self.mysql.shutdown()
    }
}

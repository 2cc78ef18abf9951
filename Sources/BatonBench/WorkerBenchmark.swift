import ArgumentParser
import BatonBroker
import BatonKit
import BatonModel
import BatonRedis
import BatonStore
import BatonWorker
import Foundation
import ServiceLifecycle

/// `baton-bench worker`: one worker's noop tasks/s from its queue to SUCCEEDED in MySQL.
struct WorkerBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "One worker's throughput, queue to SUCCEEDED.")

    @OptionGroup var stores: StoreOptions
    @Option(help: "Tasks to run.") var tasks = 20_000
    @Option(help: "Worker capacity.") var capacity = 64

    func run() async throws {
        let env = try await BenchEnvironment.make(stores: self.stores)
        var configuration = WorkerConfiguration(nodeID: "bench")
        configuration.capacity = self.capacity
        let created = try await env.createTasks(self.tasks)
        let queue = env.broker.keys.workerQueue(configuration.workerID)
        for start in stride(from: 0, to: created.count, by: 1000) {
            let members = created[start..<min(start + 1000, created.count)].map { QueueEntry($0).member }
            try await env.redis.send(RedisCommand("RPUSH", [queue] + members))
        }
        let worker = WorkerAssembly(
            configuration: configuration, broker: env.broker, tasks: env.tasks, configs: TaskConfigCache(store: env.configs), logger: env.logger
        )
        let group = ServiceGroup(services: worker.services, logger: env.logger)
        let started = ContinuousClock.now
        let running = Task { try await group.run() }
        var done = 0
        while done < self.tasks {
            try await Task.sleep(for: .milliseconds(100))
            done = try await env.mysql.query(
                "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(env.taskType), .int(Int64(TaskStatus.succeeded.rawValue))]
            ).first?.int("n") ?? 0
        }
        let result = Throughput(label: "worker noop (capacity \(self.capacity))", operations: self.tasks, elapsed: ContinuousClock.now - started)
        await group.triggerGracefulShutdown()
        _ = await running.result
        await worker.shutdown()
        print("\nbaton-bench worker")
        print(result.line)
        print("BENCH worker tasks_per_s=\(Int(result.perSecond)) capacity=\(self.capacity)")
        try await env.cleanUp()
    }
}

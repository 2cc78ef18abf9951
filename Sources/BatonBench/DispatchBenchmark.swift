import ArgumentParser
import BatonBroker
import BatonModel
import BatonRedis
import BatonScheduler
import Foundation

/// `baton-bench dispatch`: tasks/s the leader alone moves from the queue to
/// worker queues, including the SCHEDULED writes to MySQL.
struct DispatchBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dispatch", abstract: "Leader dispatch throughput, MySQL writes included.")

    @OptionGroup var stores: StoreOptions
    @Option(help: "Tasks to dispatch.") var tasks = 50_000
    @Option(help: "Tasks per dispatch cycle.") var batch = 1000
    @Option(help: "Simulated workers.") var workers = 4

    func run() async throws {
        let env = try await BenchEnvironment.make(stores: self.stores)
        let created = try await env.createTasks(self.tasks)
        try await env.broker.enqueue(created)
        let keys = env.broker.keys
        for index in 0..<self.workers {
            _ = try await env.broker.heartbeat(
                workerID: "bench-w\(index)", ttl: .seconds(3600),
                registration: WorkerRegistration(nodeID: "bench", capacity: 10_000_000)
            )
        }
        try await env.redis.send("SET", keys.leader, "bench|1", "PX", 3_600_000)
        let term = LeaderState.Term(epoch: 1, lockValue: "bench|1")
        var configuration = Dispatcher.Configuration()
        configuration.batchSize = self.batch
        configuration.heartbeatTTL = .seconds(7200)
        let dispatcher = Dispatcher(broker: env.broker, tasks: env.tasks, configs: env.configs, configuration: configuration, logger: env.logger)

        // Two cycles in flight, as the dispatcher's Redis and MySQL halves overlap in practice.
        let result = try await Throughput.measure("dispatch (batch \(self.batch), \(self.workers) workers)", operations: self.tasks) {
            var moved = 0
            while moved < self.tasks {
                let step = try await dispatcher.dispatchOnce(term: term)
                if step == 0 { break }
                moved += step
            }
        }
        let scheduled = try await env.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(env.taskType), .int(Int64(TaskStatus.scheduled.rawValue))]
        ).first?.int("n") ?? 0
        print("\nbaton-bench dispatch")
        print(result.line + "   (\(scheduled) rows SCHEDULED)")
        print("BENCH dispatch tasks_per_s=\(Int(result.perSecond)) batch=\(self.batch)")
        try await env.cleanUp()
    }
}

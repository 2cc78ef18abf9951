import ArgumentParser
import BatonBroker
import BatonModel
import BatonRedis
import BatonScheduler
import Foundation

/// `baton-bench dispatch`: tasks/s the leader alone moves from the queue to
/// worker queues, including the SCHEDULED writes to MySQL; with
/// `--redis-only`, the dispatch script's rounds alone (its cost per round
/// shows with a small `--batch`).
struct DispatchBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dispatch", abstract: "Leader dispatch throughput, MySQL writes included.")

    @OptionGroup var stores: StoreOptions
    @Option(help: "Tasks to dispatch.") var tasks = 50_000
    @Option(help: "Tasks per dispatch cycle.") var batch = 1000
    @Option(help: "Simulated workers.") var workers = 4
    @Flag(help: "Time the dispatch script's rounds alone, without the SCHEDULED writes to MySQL.") var redisOnly = false
    @Option(help: "The type's rate limit per second (0: none); one above the rate measured counts every start and holds none back.")
    var rateLimit = 0

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
        if self.rateLimit > 0 {
            try await env.broker.setLimits(TypeLimits(taskType: env.taskType, maxConcurrency: 0, rateLimitPerSecond: self.rateLimit, paused: false, version: 1))
        }

        let label = "dispatch\(self.redisOnly ? " script" : "") (batch \(self.batch), \(self.workers) workers\(self.rateLimit > 0 ? ", rate limited" : ""))"
        var rounds = 0
        let result = try await Throughput.measure(label, operations: self.tasks) {
            var moved = 0
            while moved < self.tasks {
                let step =
                    if self.redisOnly {
                        try await env.broker.dispatch(
                            fence: term.lockValue, batch: self.batch, heartbeatTTL: configuration.heartbeatTTL, strategy: configuration.strategy.rawValue,
                            weights: configuration.weights, lookAhead: configuration.lookAhead, highReserve: configuration.highReserve
                        ).count
                    } else {
                        try await dispatcher.dispatchOnce(term: term)
                    }
                if step == 0 { break }
                moved += step
                rounds += 1
            }
        }
        let scheduled = try await env.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ?", [.string(env.taskType), .int(Int64(TaskStatus.scheduled.rawValue))]
        ).first?.int("n") ?? 0
        print("\nbaton-bench dispatch")
        let perRound = result.elapsed / max(rounds, 1)
        print(result.line + "   (\(rounds) rounds, \(perRound) each; \(scheduled) rows SCHEDULED)")
        print("BENCH dispatch tasks_per_s=\(Int(result.perSecond)) batch=\(self.batch) redis_only=\(self.redisOnly) rounds=\(rounds)")
        try await env.cleanUp()
    }
}

import ArgumentParser
import BatonBroker
import BatonModel
import BatonRedis
import BatonScheduler
import BatonStore
import Foundation
import Synchronization

/// `baton-bench restore`: Redis lost its data with N tasks waiting in MySQL;
/// how long the leader's restore takes, and what a create (commit + enqueue,
/// as CreateTask does) costs meanwhile at a steady rate.
struct RestoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore of N waiting tasks after Redis lost its data.")

    @OptionGroup var stores: StoreOptions
    @Option(help: "Waiting tasks.") var tasks = 1_000_000
    @Option(help: "Creates per second during the restore.") var rate = 200

    func run() async throws {
        let env = try await BenchEnvironment.make(stores: self.stores)
        let inserting = ContinuousClock.now
        for start in stride(from: 0, to: self.tasks, by: 1000) {
            _ = try await env.createTasks(min(1000, self.tasks - start))
        }
        print("inserted \(self.tasks) waiting tasks in \(ContinuousClock.now - inserting)")

        // A leader of the scratch namespace, as the elector would record it.
        let lock = "bench|\(UUID().uuidString)"
        try await env.redis.send("SET", env.broker.keys.leader, lock, "PX", 3_600_000)
        let epoch = try await env.redis.send("INCR", env.broker.keys.leaderEpoch).int ?? 1
        _ = try await LeaderEpochStore(mysql: env.mysql).claim(cluster: env.broker.keys.namespace, epoch: epoch, now: Date())
        let term = LeaderState.Term(epoch: epoch, lockValue: lock, fence: LeaderFence(cluster: env.broker.keys.namespace, epoch: epoch))
        let reconciler = Reconciler(broker: env.broker, tasks: env.tasks, logger: env.logger)

        let done = Atomic<Bool>(false)
        let started = ContinuousClock.now
        async let restored = { () async throws -> (Int, Duration) in
            defer { done.store(true, ordering: .relaxed) }
            let count = try await reconciler.restoreAll(term: term)
            return (count, ContinuousClock.now - started)
        }()
        let creates = try await SteadyRate.measure(rate: self.rate, while: { _ in !done.load(ordering: .relaxed) }) {
            let task = try await env.createTasks(1)
            try await env.broker.enqueue(task)
        }.latencies
        let (count, took) = try await restored
        let perSecond = Double(count) / (Double(took.wholeMilliseconds) / 1000)
        print("\nbaton-bench restore")
        print("restored \(count) tasks in \(took) (\(Int(perSecond))/s)")
        print("create (commit + enqueue) at \(self.rate)/s during the restore: \(creates.summary)")
        print("BENCH restore tasks=\(count) seconds=\(String(format: "%.1f", Double(took.wholeMilliseconds) / 1000)) create_p99_ms=\(Latencies.ms(creates.percentile(99)))")
        try await env.cleanUp()
    }
}

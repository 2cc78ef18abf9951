import ArgumentParser
import BatonBroker
import BatonModel
import BatonRedis
import BatonTestSupport
import Foundation
import Synchronization

/// `baton-bench workers`: what the leader costs as workers are added. A
/// real `baton-node` leads a scratch namespace (its own worker runs no type
/// in use); this process plays N workers on the same Redis (heartbeats every
/// 3 s, take, acknowledge at once) and feeds tasks at a fixed rate straight
/// into Redis. For each N: the leader's CPU (from /proc), Redis's CPU and
/// commands per second, idle (heartbeats only) and under load.
struct WorkersBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workers", abstract: "Leader and Redis cost at 10, 50 and 100 workers.")

    @OptionGroup var stores: StoreOptions
    @Option(help: "Worker counts, comma-separated.") var counts = "10,50,100"
    @Option(help: "Tasks per second fed during the load phase.") var rate = 2000
    @Option(help: "Capacity of each simulated worker.") var capacity = 10
    @Option(help: "Seconds measured per phase.") var seconds = 10
    @Option(help: "The node binary that leads.") var node = ".build/release/baton-node"

    private struct Sample {
        var leaderTicks: Int64
        var redisCPU: Double
        var redisCommands: Int64
        var scheduled: Int64
        var at: ContinuousClock.Instant
    }

    private struct Phase {
        var leaderCPU: Double
        var redisCPU: Double
        var redisOps: Double
        var tasks: Double
    }

    func run() async throws {
        let counts = self.counts.split(separator: ",").compactMap { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--counts takes positive numbers, comma-separated") }
        let env = try await BenchEnvironment.make(stores: self.stores)
        let keys = env.broker.keys
        let leader = try self.startLeader(namespace: keys.namespace)
        defer { leader.stop() }
        // Wait for it to lead.
        let deadline = ContinuousClock.now + .seconds(30)
        while try await env.redis.send("GET", keys.leader).string == nil {
            guard ContinuousClock.now < deadline else { throw ValidationError("the node did not take the lead within 30 s; see \(leader.log)") }
            try await Task.sleep(for: .milliseconds(100))
        }

        var rows: [(count: Int, idle: Phase, load: Phase, heartbeat: Latencies)] = []
        for count in counts {
            let stop = Flag()
            let feeding = Flag()
            let beats = Collected<Latencies>(Latencies())
            let (idle, load) = try await withThrowingTaskGroup(of: (Phase, Phase)?.self) { group in
                for index in 0..<count {
                    group.addTask {
                        try await self.simulateWorker("bench-sim-\(count)-\(index)", broker: env.broker, stop: stop, beats: beats)
                        return nil
                    }
                }
                group.addTask {
                    try await self.feed(env: env, feeding: feeding, stop: stop)
                    return nil
                }
                group.addTask {
                    defer { stop.set() }
                    try await Task.sleep(for: .seconds(4))
                    let idle = try await self.measure(env: env, leader: leader.pid)
                    feeding.set()
                    try await Task.sleep(for: .seconds(2))
                    let load = try await self.measure(env: env, leader: leader.pid)
                    return (idle, load)
                }
                var phases: (Phase, Phase)?
                for try await result in group { if let result { phases = result } }
                return phases!
            }
            rows.append((count, idle, load, beats.value))
            // The workers leave, as a graceful stop would.
            let members = try await env.redis.send("ZRANGE", keys.workers, 0, -1).array?.compactMap(\.string) ?? []
            for member in members where member.hasPrefix("bench-sim-") {
                try await env.redis.send("ZREM", keys.workers, member)
                try await env.redis.send("DEL", keys.worker(member), keys.workerQueue(member), keys.workerHighQueue(member), keys.workerInFlight(member), keys.workerBell(member), keys.workerHighBell(member))
            }
            try await env.redis.send("DEL", keys.normalQueue, keys.inUse)
        }

        print("\nbaton-bench workers (leader: one baton-node; \(self.rate) tasks/s fed; capacity \(self.capacity) each; \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        print("workers | idle: leader CPU  Redis CPU  Redis ops/s | load: tasks/s  leader CPU  Redis CPU  Redis ops/s | heartbeat p50/p99")
        var machine = "BENCH workers rate=\(self.rate)"
        for row in rows {
            print(
                String(format: "%7d | %15.1f%% %9.1f%% %12.0f | %13.0f %10.1f%% %9.1f%% %12.0f | %@ / %@ ms",
                       row.count, row.idle.leaderCPU, row.idle.redisCPU, row.idle.redisOps, row.load.tasks, row.load.leaderCPU,
                       row.load.redisCPU, row.load.redisOps, Latencies.ms(row.heartbeat.percentile(50)), Latencies.ms(row.heartbeat.percentile(99)))
            )
            machine += String(format: " w%d_idle_leader_cpu=%.1f w%d_idle_redis_ops=%.0f w%d_load_leader_cpu=%.1f w%d_load_redis_ops=%.0f w%d_tasks_per_s=%.0f",
                              row.count, row.idle.leaderCPU, row.count, row.idle.redisOps, row.count, row.load.leaderCPU,
                              row.count, row.load.redisOps, row.count, row.load.tasks)
        }
        print(machine)
        leader.stop()
        try await env.cleanUp()
    }

    /// One simulated worker: registers, heartbeats every 3 s, takes what the
    /// dispatcher gives it (woken by its bell) and acknowledges it at once.
    private func simulateWorker(_ id: String, broker: RedisBroker, stop: Flag, beats: Collected<Latencies>) async throws {
        let registration = WorkerRegistration(nodeID: "bench", capacity: self.capacity)
        var nextBeat = ContinuousClock.now
        try await broker.withInbox(workerID: id) { inbox in
            while !stop.isSet {
                if ContinuousClock.now >= nextBeat {
                    let sent = ContinuousClock.now
                    _ = try await broker.heartbeat(workerID: id, ttl: .seconds(9), registration: registration)
                    let took = ContinuousClock.now - sent
                    beats.update { $0.record(took) }
                    nextBeat = sent + .seconds(3)
                }
                let entries = try await broker.take(workerID: id, count: self.capacity)
                if entries.isEmpty {
                    try await inbox.waitForWork(high: false, timeout: .milliseconds(500))
                } else {
                    try await broker.acknowledge(workerID: id, entries.map { ($0, 0) })
                }
            }
        }
    }

    /// Feeds the normal queue at `rate` once `feeding` is set (entries only: no rows).
    private func feed(env: BenchEnvironment, feeding: Flag, stop: Flag) async throws {
        let perTick = max(1, self.rate / 100)
        var next = ContinuousClock.now
        while !stop.isSet {
            next += .milliseconds(10)
            if feeding.isSet {
                let now = Date()
                let tasks = (0..<perTick).map { _ in
                    TaskRecord(taskID: TaskID.make(), taskType: env.taskType, priority: .normal, payload: [:], status: .queued,
                               maxRetries: 0, timeoutSeconds: 60, createdAt: now, updatedAt: now)
                }
                try await env.broker.enqueue(tasks)
            }
            try await Task.sleep(until: next)
        }
    }

    private func measure(env: BenchEnvironment, leader: pid_t) async throws -> Phase {
        let first = try await self.sample(env: env, leader: leader)
        try await Task.sleep(for: .seconds(self.seconds))
        let last = try await self.sample(env: env, leader: leader)
        let elapsed = Double((last.at - first.at).wholeMilliseconds) / 1000
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return Phase(
            leaderCPU: Double(last.leaderTicks - first.leaderTicks) / ticks / elapsed * 100,
            redisCPU: (last.redisCPU - first.redisCPU) / elapsed * 100,
            redisOps: Double(last.redisCommands - first.redisCommands) / elapsed,
            tasks: Double(last.scheduled - first.scheduled) / elapsed
        )
    }

    private func sample(env: BenchEnvironment, leader: pid_t) async throws -> Sample {
        let info = try await env.redis.send("INFO", "all").string ?? ""
        func field(_ name: String) -> Double {
            info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + ":") }.flatMap { Double($0.dropFirst(name.count + 1)) } ?? 0
        }
        let stat = (try? String(contentsOfFile: "/proc/\(leader)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        let ticks = fields.count > 12 ? (Int64(fields[11]) ?? 0) + (Int64(fields[12]) ?? 0) : 0
        let scheduled = try await env.redis.send("GET", env.broker.keys.scheduledTotal).string.flatMap { Int64($0) } ?? 0
        return Sample(
            leaderTicks: ticks, redisCPU: field("used_cpu_sys") + field("used_cpu_user"),
            redisCommands: Int64(field("total_commands_processed")), scheduled: scheduled, at: .now
        )
    }

    private struct Leader {
        let pid: pid_t
        let log: String
        func stop() { kill(self.pid, SIGTERM) }
    }

    private func startLeader(namespace: String) throws -> Leader {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("baton-bench-workers-\(namespace).log").path
        let pid = try ChildProcess.start(
            self.node,
            [
                "--id", "bench-leader", "--redis-namespace", namespace, "--redis", self.stores.redis, "--mysql", self.stores.mysql,
                "--migrations", "sql", "--grpc-port", "19591", "--worker-port", "18591", "--task-types", "bench-none", "--capacity", "1",
            ],
            environment: ProcessInfo.processInfo.environment, output: log
        )
        return Leader(pid: pid, log: log)
    }
}

/// A flag the phases of a benchmark raise once.
private final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    var isSet: Bool { self.raised.load(ordering: .relaxed) }
    func set() { self.raised.store(true, ordering: .relaxed) }
}

import ArgumentParser
import BatonClient
import BatonProto
import Foundation
import GRPCCore
import SwiftProtobuf
import Synchronization

/// `baton-bench e2e`: a running cluster (default: the three local nodes),
/// end to end: throughput of noop tasks, latency at a steady rate, and
/// queue wait of high vs normal under saturation.
struct EndToEndBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "e2e", abstract: "End-to-end throughput, latency and priority against a running cluster.")

    @Option(help: "Nodes, host:port, comma-separated.") var servers = "127.0.0.1:9091,127.0.0.1:9092,127.0.0.1:9093"
    @Option(help: "Tasks in the throughput run.") var tasks = 20_000
    @Option(help: "Concurrent submitters in the throughput run.") var clients = 6
    @Option(help: "Steady rates of the latency runs (tasks/s), comma-separated.") var rates = "500,200"
    @Option(help: "Length of each latency run (s).") var seconds = 30
    @Option(help: "Task type to run (a local noop by default).") var taskType = "noop"
    @Option(help: "Dashboards kept open during the whole run (their reads every 2 s and a task's live events).") var dashboards = 0
    @Option(help: "HTTP ports of the nodes the dashboards read, host:port, comma-separated.")
    var http = "127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083"

    func run() async throws {
        let nodes = try NodeList.parse(self.servers).map { ($0.host, $0.port) }
        let rates = self.rates.split(separator: ",").compactMap { Int($0) }
        guard !rates.isEmpty, rates.allSatisfy({ $0 > 0 }) else { throw ValidationError("--rates takes positive numbers, comma-separated") }
        let pages = self.http.split(separator: ",")
        let dashboards = (0..<self.dashboards).map { index in
            let load = DashboardLoad(base: "http://\(pages[index % pages.count])", key: ProcessInfo.processInfo.environment["BATON_API_KEY"])
            return Task { await load.run() }
        }
        defer { dashboards.forEach { $0.cancel() } }
        let (created, finished) = try await self.throughput(nodes)
        var steady: [(rate: Int, rpc: Latencies, started: Latencies, finished: Latencies, late: Latencies, check: Latencies)] = []
        for rate in rates {
            let (rpc, started, done, late, check) = try await self.latency(nodes[0], rate: rate)
            steady.append((rate, rpc, started, done, late, check))
        }
        let (high, normal, probeRPC) = try await self.priority(nodes)
        let (single, backlog, singleCheck) = try await self.singleProbes(nodes)
        print("\nbaton-bench e2e (\(nodes.count) nodes, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(self.dashboards) dashboards open)")
        print(created.line)
        print(finished.line)
        var machine = "BENCH e2e create_per_s=\(Int(created.perSecond)) e2e_per_s=\(Int(finished.perSecond))"
        for run in steady {
            print("steady \(run.rate)/s, CreateTask RPC:   \(run.rpc.summary)")
            print("steady \(run.rate)/s, opened late by:   \(run.late.summary)")
            print("steady \(run.rate)/s, beside: health Check RPC at 100/s: \(run.check.summary)")
            print("steady \(run.rate)/s, created→started:  \(run.started.summary)")
            print("steady \(run.rate)/s, created→finished: \(run.finished.summary)")
            machine += " rpc_p99_ms_at\(run.rate)=\(Latencies.ms(run.rpc.percentile(99)))"
                + " started_p50_ms_at\(run.rate)=\(Latencies.ms(run.started.percentile(50)))"
                + " started_p99_ms_at\(run.rate)=\(Latencies.ms(run.started.percentile(99)))"
                + " finished_p99_ms_at\(run.rate)=\(Latencies.ms(run.finished.percentile(99)))"
                + " late_p99_ms_at\(run.rate)=\(Latencies.ms(run.late.percentile(99)))"
                + " check_p99_ms_at\(run.rate)=\(Latencies.ms(run.check.percentile(99)))"
        }
        print("saturated, queue wait high:   \(high.summary)")
        print("saturated, queue wait normal: \(normal.summary)")
        print("saturated, probe CreateTask:  \(probeRPC.summary)")
        print("saturated, queue wait high, one at a time: \(single.summary) (behind \(backlog.first) → \(backlog.last) waiting normal tasks)")
        print("saturated, beside: health Check RPC at 200/s: \(singleCheck.summary)")
        print(
            machine + " wait_high_p95_ms=\(Latencies.ms(high.percentile(95))) wait_normal_p95_ms=\(Latencies.ms(normal.percentile(95)))"
                + " wait_high_single_p95_ms=\(Latencies.ms(single.percentile(95)))"
                + " check_p95_ms_single=\(Latencies.ms(singleCheck.percentile(95)))"
        )
    }

    /// Batches of 500 from several clients spread over the nodes; then waits
    /// until no task of the type is left unfinished.
    private func throughput(_ nodes: [(String, Int)]) async throws -> (Throughput, Throughput) {
        let perClient = self.tasks / self.clients / 500
        let total = perClient * self.clients * 500
        let type = self.taskType
        let request = Baton_V1_BatchCreateTasksRequest.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 500) }
        let started = ContinuousClock.now
        // Only this run's tasks count: unfinished ones an earlier run left in
        // the table (an aborted benchmark) are not waited for.
        let since = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(-1))
        let lastIDs = Mutex<[String]>([])
        let created = try await Throughput.measureConcurrently("created (BatchCreateTasks x500)", operations: total, concurrency: self.clients) { index in
            let node = nodes[index % nodes.count]
            try await withBatonClient(host: node.0, port: node.1) { client in
                var last = ""
                for _ in 0..<perClient { last = try await client.tasks.batchCreateTasks(request).tasks.last?.taskID ?? last }
                lastIDs.withLock { $0.append(last) }
            }
        }
        // The newest tasks finish near the end: watch them (events, no
        // polling), then make sure with a query for any unfinished task of
        // the type, an index range that is short by then.
        let unfinished = Baton_V1_ListTasksRequest.with {
            $0.statuses = [.pending, .queued, .scheduled, .running, .retrying]
            $0.taskType = type
            $0.createdAfter = since
            $0.pageSize = 1
        }
        try await withBatonClient(host: nodes[0].0, port: nodes[0].1) { client in
            for id in lastIDs.withLock({ $0 }) { _ = try await client.waitForTask(id, timeout: .seconds(600)) }
            while try await !client.tasks.listTasks(unfinished).tasks.isEmpty {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        return (created, Throughput(label: "end to end (created → SUCCEEDED)", operations: total, elapsed: ContinuousClock.now - started))
    }

    /// Opens CreateTask calls at a fixed rate; then reads each task's
    /// timestamps. Beside them, on the same connection, health Checks at
    /// 100/s: an RPC that touches no store, whose latency is the floor the
    /// machine's scheduling and the transport set under this load.
    private func latency(_ node: (String, Int), rate: Int) async throws -> (Latencies, Latencies, Latencies, Latencies, Latencies) {
        let ids = Collected<[String]>([])
        let type = self.taskType
        let seconds = self.seconds
        let (rpc, late, check) = try await withBatonClient(host: node.0, port: node.1) { client in
            async let checks = SteadyRate.measure(rate: 100, seconds: seconds) { _ = try await client.health.check(.init()) }
            let creates = try await SteadyRate.measureWithLateness(rate: rate, seconds: seconds) {
                let task = try await client.createTask(type: type)
                ids.update { $0.append(task.taskID) }
            }
            return (creates.latencies, creates.lateness, try await checks)
        }
        try await Task.sleep(for: .seconds(1))
        let (started, finished) = try await self.timestamps(ids.value, node: node)
        return (rpc, started, finished, late, check)
    }

    /// A backlog of normal tasks, all waiting at once: the type is paused
    /// while `batches` of 500 from a client per node are created (10 from
    /// each of three: 15,000), then resumed, which puts them back at the front
    /// of the queue in order. (Created while it runs, the backlog drains
    /// almost as fast as it grows: probes would meet a few thousand.)
    private func backlog(_ nodes: [(String, Int)], batches: Int = 10) async throws {
        let type = self.taskType
        let batch = Baton_V1_BatchCreateTasksRequest.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 500) }
        try await withBatonClient(host: nodes[0].0, port: nodes[0].1) { client in
            _ = try await client.admin.pauseTaskType(.with { $0.taskType = type })
            do {
                try await withThrowingDiscardingTaskGroup { group in
                    for node in nodes {
                        group.addTask {
                            try await withBatonClient(host: node.0, port: node.1) { client in
                                for _ in 0..<batches { _ = try await client.tasks.batchCreateTasks(batch) }
                            }
                        }
                    }
                }
            } catch {
                _ = try? await client.admin.resumeTaskType(.with { $0.taskType = type })
                throw error
            }
            _ = try await client.admin.resumeTaskType(.with { $0.taskType = type })
        }
    }

    /// Saturates the cluster with a backlog of normal tasks, then sends high
    /// and normal probes at once and measures how long each waited to start.
    private func priority(_ nodes: [(String, Int)]) async throws -> (high: Latencies, normal: Latencies, rpc: Latencies) {
        let type = self.taskType
        try await self.backlog(nodes)
        let node = nodes[0]
        let (high, normal, rpc) = try await withBatonClient(host: node.0, port: node.1) { client in
            try await withThrowingTaskGroup(of: (isHigh: Bool, id: String, rpc: Duration).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let high = index % 2 == 0
                        let sent = ContinuousClock.now
                        let id = try await client.createTask(type: type, priority: high ? .high : .normal).taskID
                        return (high, id, ContinuousClock.now - sent)
                    }
                }
                var high: [String] = []
                var normal: [String] = []
                var rpc = Latencies()
                for try await probe in group {
                    if probe.isHigh { high.append(probe.id) } else { normal.append(probe.id) }
                    rpc.record(probe.rpc)
                }
                return (high, normal, rpc)
            }
        }
        try await withBatonClient(host: node.0, port: node.1) { client in
            for id in normal + high { _ = try await client.waitForTask(id, timeout: .seconds(120)) }
        }
        return (try await self.timestamps(high, node: node).0, try await self.timestamps(normal, node: node).0, rpc)
    }

    /// A new backlog (22,500: it drains while the probes run; about 15,000
    /// still wait after the last), then 100
    /// high-priority probes one at a time (200/s, each created after the last
    /// has mostly started: how a user's urgent task meets a busy cluster,
    /// without a burst of its own to commit): their wait to start, and the
    /// normal tasks waiting (on the queue and on workers) at the first probe
    /// and after the last: the backlog they overtook. Beside them, health
    /// Checks at 200/s on a connection of their own to another node: one
    /// round trip to a node that touches no store, the floor of each of the
    /// hops a probe makes (client → API → MariaDB → API → Redis → leader →
    /// Redis → worker → Redis) on a machine this busy.
    private func singleProbes(_ nodes: [(String, Int)]) async throws -> (wait: Latencies, backlog: (first: Int64, last: Int64), check: Latencies) {
        let type = self.taskType
        try await self.backlog(nodes, batches: 15)
        let node = nodes[0]
        let ids = Collected<[String]>([])
        let (first, last, check) = try await withBatonClient(host: node.0, port: node.1) { client in
            func waiting() async throws -> Int64 {
                let stats = try await client.tasks.getStats(.init())
                return stats.queueNormal + stats.workers.reduce(0) { $0 + Int64($1.queued) }
            }
            let first = try await waiting()
            let probing = Atomic(true)
            let checker = nodes[nodes.count > 1 ? 1 : 0]
            async let checks = withBatonClient(host: checker.0, port: checker.1) { checks in
                try await SteadyRate.measure(rate: 200, while: { _ in probing.load(ordering: .relaxed) }) { _ = try await checks.health.check(.init()) }
            }
            _ = try await SteadyRate.measure(rate: 200, while: { $0 < 100 }) {
                let id = try await client.createTask(type: type, priority: .high).taskID
                ids.update { $0.append(id) }
            }
            probing.store(false, ordering: .relaxed)
            return (first, try await waiting(), try await checks.latencies)
        }
        return (try await self.timestamps(ids.value, node: node).0, (first, last), check)
    }

    private func timestamps(_ ids: [String], node: (String, Int)) async throws -> (Latencies, Latencies) {
        try await withBatonClient(host: node.0, port: node.1) { client in
            var started = Latencies()
            var finished = Latencies()
            for id in ids {
                let task = try await client.waitForTask(id, timeout: .seconds(120))
                let created = task.createdAt.date
                // Timestamps are microseconds (DATETIME(6)); keep them so.
                started.record(.microseconds(Int64((task.startedAt.date.timeIntervalSince(created) * 1_000_000).rounded())))
                finished.record(.microseconds(Int64((task.finishedAt.date.timeIntervalSince(created) * 1_000_000).rounded())))
            }
            return (started, finished)
        }
    }
}

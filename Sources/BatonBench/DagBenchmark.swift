import ArgumentParser
import BatonClient
import BatonProto
import Foundation
import SwiftProtobuf

/// `baton-bench dag`: a running cluster runs a DAG of noop tasks (default
/// 10,000, see `DagShape`) created through BatchCreateTasks with
/// `depends_on`. Measures, from the tasks' own timestamps (one clock, the
/// cluster's): how soon a dependent starts after its last parent finished
/// (release, enqueue, dispatch and start write: an upper bound of the
/// release itself), and tasks/s for the whole DAG. Checks that every task
/// SUCCEEDED and none started before all its parents had finished.
struct DagBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dag", abstract: "Dependency release latency and DAG throughput against a running cluster.")

    @Option(help: "Nodes, host:port, comma-separated.") var servers = "127.0.0.1:9091,127.0.0.1:9092,127.0.0.1:9093"
    @Option(help: "Tasks in the DAG (root and sink included).") var tasks = 10_000
    @Option(help: "Tasks per layer.") var width = 100
    @Option(help: "Parents of each task in the layer above.") var fanIn = 3
    @Option(help: "Task type (a local noop by default).") var taskType = "noop"
    @Option(help: "The root's run_at, seconds after the first create (0: it runs at once; the creates stay ahead of the run, whose steps take far longer than a call's 10 layers).")
    var startDelay = 0.0
    @Option(help: "Seconds to wait for the sink.") var timeout = 600

    func run() async throws {
        guard self.tasks >= 3, self.width >= 1, self.fanIn >= 1 else { throw ValidationError("--tasks ≥ 3, --width and --fan-in ≥ 1") }
        let node = try NodeList.parse(self.servers)[0]
        let shape = DagShape(total: self.tasks, width: self.width, fanIn: self.fanIn)
        let loadBefore = Self.loadAverage()
        let (ids, born, createdIn) = try await self.create(shape, node: node)
        let tasks = try await self.collect(ids, node: node)
        let loadAfter = Self.loadAverage()

        // Per task: its last parent's end, and whether it started after it.
        var release = Latencies()
        var early: [(id: String, by: Int64)] = []
        var unfinished: [String: Int] = [:]
        for (index, parents) in shape.parents.enumerated() {
            let task = tasks[index]
            if task.status != .succeeded { unfinished["\(task.status)", default: 0] += 1 }
            guard !parents.isEmpty else { continue }
            let lastParent = parents.map { Self.micros(tasks[$0].finishedAt) }.max()!
            let started = Self.micros(task.startedAt)
            if task.hasStartedAt, started < lastParent { early.append((task.taskID, lastParent - started)) }
            // Only dependents that waited: one born QUEUED had nothing to release.
            if born[index] == .waiting, task.hasStartedAt, parents.allSatisfy({ tasks[$0].hasFinishedAt }) {
                release.record(.microseconds(started - lastParent))
            }
        }
        let notWaiting = born.enumerated().filter { $0.offset > 0 && $0.element != .waiting }.count
        let firstCreated = tasks.map { Self.micros($0.createdAt) }.min()!
        let rootStarted = Self.micros(tasks[0].startedAt)
        let lastFinished = tasks.map { Self.micros($0.finishedAt) }.max()!
        let whole = Double(shape.count) / (Double(lastFinished - firstCreated) / 1e6)
        let running = Double(shape.count) / (Double(lastFinished - rootStarted) / 1e6)
        let perStep = Double(lastFinished - rootStarted) / 1000 / Double(shape.depth)

        print("\nbaton-bench dag (\(ProcessInfo.processInfo.activeProcessorCount) cores; load average \(loadBefore) before, \(loadAfter) after)")
        print("shape: \(shape.description)")
        print(String(format: "created in %.2f s (%d BatchCreateTasks calls); root run_at %.1f s after the first create", createdIn, (shape.count + 999) / 1000, self.startDelay))
        if notWaiting > 0 { print("note: \(notWaiting) tasks were born after their parents had finished (the run overtook the creates): not counted as releases") }
        print("release (last parent finished → dependent started), \(release.samples.count) dependents: \(release.summary)  max \(Latencies.ms(release.samples.max() ?? .zero)) ms")
        print(String(format: "whole DAG, first created → last finished: %.0f tasks/s", whole))
        print(String(format: "run, root started → last finished: %.0f tasks/s, %.2f s; %.1f ms per step of the %d-task critical path", running,
                     Double(lastFinished - rootStarted) / 1e6, perStep, shape.depth))
        let earliest = early.map(\.by).max().map { String(format: " (by up to %.3f ms)", Double($0) / 1000) } ?? ""
        print("not SUCCEEDED: \(unfinished.isEmpty ? "none" : "\(unfinished)"); started before a parent finished: \(early.count)\(earliest); born other than WAITING (root aside): \(notWaiting)")
        print(
            "BENCH dag tasks=\(shape.count) release_p50_ms=\(Latencies.ms(release.percentile(50))) release_p99_ms=\(Latencies.ms(release.percentile(99)))"
                + " release_max_ms=\(Latencies.ms(release.samples.max() ?? .zero)) dag_per_s=\(Int(whole)) run_per_s=\(Int(running))"
                + " not_succeeded=\(unfinished.values.reduce(0, +)) early_starts=\(early.count)"
        )
        if !unfinished.isEmpty || !early.isEmpty {
            print("FAILED: \(early.prefix(5).map(\.id).joined(separator: ", "))")
            throw ExitCode.failure
        }
    }

    /// Creates the DAG in order, up to 1,000 tasks a call: "#N" names a task
    /// of the same call, an id one of an earlier call. Returns the ids, each
    /// task's status at birth, and the seconds the creates took.
    private func create(_ shape: DagShape, node: (host: String, port: Int)) async throws -> ([String], [Baton_V1_TaskStatus], Double) {
        let type = self.taskType
        let runAt = self.startDelay > 0 ? Date().addingTimeInterval(self.startDelay) : nil
        let started = ContinuousClock.now
        return try await withBatonClient(host: node.host, port: node.port) { client in
            var ids: [String] = []
            var born: [Baton_V1_TaskStatus] = []
            for start in stride(from: 0, to: shape.count, by: 1000) {
                let batch = start..<min(start + 1000, shape.count)
                let items = batch.map { index in
                    Baton_V1_CreateTaskRequest.with {
                        $0.taskType = type
                        $0.dependsOn = shape.parents[index].map { $0 >= start ? "#\($0 - start)" : ids[$0] }
                        if index == 0, let runAt { $0.runAt = Google_Protobuf_Timestamp(date: runAt) }
                    }
                }
                let created = try await client.batchCreate(items)
                guard created.count == items.count else { throw ValidationError("BatchCreateTasks returned \(created.count) tasks for \(items.count)") }
                ids += created.map(\.taskID)
                born += created.map(\.status)
            }
            let elapsed = ContinuousClock.now - started
            return (ids, born, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }

    /// Waits for the sink, then for every task to end, and reads them all
    /// (ListTasks of the type since the first create, a page of 1,000 at a
    /// time), in the order of `ids`.
    private func collect(_ ids: [String], node: (host: String, port: Int)) async throws -> [Baton_V1_Task] {
        let type = self.taskType
        let timeout = self.timeout
        return try await withBatonClient(host: node.host, port: node.port) { client in
            let first = try await client.getTask(ids[0])
            _ = try await client.waitForTask(ids.last!, timeout: .seconds(timeout))
            let wanted = Set(ids)
            let deadline = ContinuousClock.now + .seconds(timeout)
            while true {
                var found: [String: Baton_V1_Task] = [:]
                var token = ""
                repeat {
                    let page = try await client.tasks.listTasks(.with {
                        $0.taskType = type
                        $0.createdAfter = first.createdAt
                        $0.oldestFirst = true
                        $0.pageSize = 1000
                        $0.pageToken = token
                    })
                    for task in page.tasks where wanted.contains(task.taskID) { found[task.taskID] = task }
                    token = page.nextPageToken
                } while !token.isEmpty
                if found.count == ids.count, found.values.allSatisfy(\.status.isTerminal) || ContinuousClock.now > deadline {
                    return ids.map { found[$0]! }
                }
                guard ContinuousClock.now < deadline else { throw ValidationError("only \(found.count) of \(ids.count) tasks listed") }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Microseconds since 1970 (the stores keep microseconds).
    static func micros(_ timestamp: Google_Protobuf_Timestamp) -> Int64 {
        timestamp.seconds * 1_000_000 + Int64(timestamp.nanos / 1000)
    }

    /// The 1, 5 and 15 minute load averages.
    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }
}

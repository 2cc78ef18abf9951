import ArgumentParser
import BatonAuth
import BatonBroker
import BatonKit
import BatonClient
import BatonModel
import BatonMySQL
import BatonProto
import BatonRedis
import BatonService
import BatonStore
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// `baton-bench api`: CreateTask and BatchCreateTasks against one in-process
/// node on loopback, with the real MySQL and Redis behind it.
struct APIBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "CreateTask/s, BatchCreateTasks tasks/s and CreateTask latency at a steady rate, against one node."
    )

    @OptionGroup var stores: StoreOptions

    @Option(help: "CreateTask calls in the throughput run.")
    var creates = 10_000

    @Option(help: "Concurrent callers in the throughput runs.")
    var concurrency = 64

    @Option(help: "Tasks in the batch run.")
    var batchTasks = 100_000

    @Option(help: "Tasks per BatchCreateTasks call.")
    var batchSize = 500

    @Option(help: "Steady CreateTask rate for the latency run (per second).")
    var rate = 500

    @Option(help: "Length of the latency run in seconds.")
    var seconds = 10

    func run() async throws {
        let env = try await BenchEnvironment.make(stores: self.stores)
        let (logger, broker, taskType) = (env.logger, env.broker, env.taskType)
        // The node's own API stack (interceptors included), open.
        var settings = APIAssembly.Server()
        settings.port = 0
        let probe = HealthProbe(tasks: env.tasks, broker: broker, interval: .seconds(1), timeout: .seconds(2), initiallyServing: true, logger: logger)
        let server = try APIAssembly(
            nodeID: "bench", stores: APIStores(mysql: env.mysql), broker: broker, hub: EventHub(), probe: probe, authenticator: Authenticator(keys: nil),
            limits: ValidationLimits(), watchLimits: WatchLimits(), server: settings, logger: logger
        ).server
        let group = ServiceGroup(services: [server], logger: logger)
        let serving = Task { try await group.run() }
        let port = try await server.listeningPort()

        let (single, singleLatency) = try await self.measureCreates(port: port, taskType: taskType)
        let (batched, batchLatency) = try await self.measureBatches(port: port, taskType: taskType)
        let steady = try await self.measureSteadyRate(port: port, taskType: taskType)

        print("\nbaton-bench api (one node, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        print(single.line + "   " + singleLatency.summary)
        print(batched.line + "   per call " + batchLatency.summary)
        print("CreateTask at \(self.rate)/s for \(self.seconds) s: " + steady.summary)
        print(
            "BENCH api create_per_s=\(Int(single.perSecond)) batch_tasks_per_s=\(Int(batched.perSecond)) "
                + "steady_rate=\(self.rate) steady_p50_ms=\(Latencies.ms(steady.percentile(50))) steady_p99_ms=\(Latencies.ms(steady.percentile(99)))"
        )

        await group.triggerGracefulShutdown()
        _ = await serving.result
        try await env.cleanUp()
    }

    /// The benchmark's calls go straight to the generated TaskService client.
    private func withClient<T: Sendable>(
        port: Int,
        _ body: @Sendable (Baton_V1_TaskService.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        try await withBatonClient(host: "127.0.0.1", port: port) { try await body($0.tasks) }
    }

    private func measureCreates(port: Int, taskType: String) async throws -> (Throughput, Latencies) {
        let perCaller = self.creates / self.concurrency
        let concurrency = self.concurrency
        let collected = Collected<Latencies>(Latencies())
        let throughput = try await self.withClient(port: port) { client in
            try await Throughput.measureConcurrently("CreateTask (\(concurrency) callers)", operations: perCaller * concurrency, concurrency: concurrency) { _ in
                var latencies = Latencies()
                for _ in 0..<perCaller {
                    let started = ContinuousClock.now
                    _ = try await client.createTask(.with { $0.taskType = taskType })
                    latencies.record(ContinuousClock.now - started)
                }
                collected.update { $0.merge(latencies) }
            }
        }
        return (throughput, collected.value)
    }

    private func measureBatches(port: Int, taskType: String) async throws -> (Throughput, Latencies) {
        let batchSize = self.batchSize
        let callers = 4
        let callsPerCaller = self.batchTasks / batchSize / callers
        let collected = Collected<Latencies>(Latencies())
        let request = Baton_V1_BatchCreateTasksRequest.with {
            $0.tasks = Array(repeating: .with { $0.taskType = taskType }, count: batchSize)
        }
        let throughput = try await self.withClient(port: port) { client in
            try await Throughput.measureConcurrently(
                "BatchCreateTasks tasks (\(callers) callers x \(batchSize))", operations: callsPerCaller * callers * batchSize, concurrency: callers
            ) { _ in
                var latencies = Latencies()
                for _ in 0..<callsPerCaller {
                    let started = ContinuousClock.now
                    _ = try await client.batchCreateTasks(request)
                    latencies.record(ContinuousClock.now - started)
                }
                collected.update { $0.merge(latencies) }
            }
        }
        return (throughput, collected.value)
    }

    private func measureSteadyRate(port: Int, taskType: String) async throws -> Latencies {
        try await self.withClient(port: port) { client in
            try await SteadyRate.measure(rate: self.rate, seconds: self.seconds) {
                _ = try await client.createTask(.with { $0.taskType = taskType })
            }
        }
    }
}

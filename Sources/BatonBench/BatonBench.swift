import ArgumentParser

@main
struct BatonBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton-bench",
        abstract: "Benchmarks for Baton (build with -c release).",
        subcommands: [StoreBenchmark.self, APIBenchmark.self, DispatchBenchmark.self, WorkerBenchmark.self, EndToEndBenchmark.self, RestoreBenchmark.self, WorkersBenchmark.self, StatsBenchmark.self, DashboardBenchmark.self, ScheduleBenchmark.self, DagBenchmark.self]
    )
}

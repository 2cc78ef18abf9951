import ArgumentParser
import AsyncHTTPClient
import Foundation
import Synchronization

/// `baton-bench dashboard`: each dashboard read's latency against a running
/// node (`make bench-dashboard` gives it a million tasks), and REST
/// CreateTask at a steady rate.
struct DashboardBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dashboard", abstract: "Dashboard and REST latencies against a running node.")

    @Option(help: "The node's HTTP base URL.") var http = "http://127.0.0.1:8081"
    @Option(help: "API key, if the node requires one.") var key: String?
    @Option(help: "Timed reads of each kind.") var reads = 200
    @Option(help: "Steady REST CreateTask rate (tasks/s).") var rate = 500
    @Option(help: "Length of the steady run (s).") var seconds = 10

    func run() async throws {
        let load = DashboardLoad(base: self.http, key: self.key)
        guard try await load.get("/api/v1/whoami").status == 200 else { throw ValidationError("no REST API at \(self.http)") }
        var put = HTTPClientRequest(url: self.http + "/api/v1/task-types/bench_rest")
        put.method = .PUT
        put.headers.add(name: "Content-Type", value: "application/json")
        if let key { put.headers.add(name: "Authorization", value: "Bearer \(key)") }
        put.body = .bytes(.init(string: #"{"executor": "local", "endpoint": "noop", "timeoutSeconds": 30, "enabled": true}"#))
        let putStatus = try await HTTPClient.shared.execute(put, timeout: .seconds(10)).status.code
        guard putStatus == 200 else { throw ValidationError("could not configure bench_rest: HTTP \(putStatus)") }

        // A task to open, the newest: its detail, logs and the UI's page.
        let newest = try await load.get("/api/v1/tasks?pageSize=1")
        let object = try JSONSerialization.jsonObject(with: Data(newest.body.readableBytesView)) as? [String: Any]
        let id = (object?["tasks"] as? [[String: Any]])?.first?["taskId"] as? String ?? "00000000-0000-0000-0000-000000000000"
        let reads = DashboardLoad.refresh + [
            ("task detail", "/api/v1/tasks/\(id)"), ("task logs", "/api/v1/tasks/\(id)/logs"), ("tasks, by type", "/api/v1/tasks?taskType=bench_big&pageSize=50"),
            ("search by key", "/api/v1/tasks?taskType=bench_big&idempotencyKey=nothing-like-it"), ("page /ui", "/ui"),
        ]
        let stats = try await load.get("/api/v1/stats")
        print("\nbaton-bench dashboard (\(self.http); \(String(buffer: stats.body).count) bytes of stats)")
        var machine = "BENCH dashboard"
        var worst = Duration.zero
        for (name, path) in reads {
            var latencies = Latencies()
            for _ in 0..<self.reads {
                let started = ContinuousClock.now
                let reply = try await load.get(path)
                guard reply.status < 500 else { throw ValidationError("\(path): HTTP \(reply.status)") }
                latencies.record(ContinuousClock.now - started)
            }
            worst = max(worst, latencies.percentile(99))
            print("\(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(latencies.summary)")
        }
        machine += " worst_read_p99_ms=\(Latencies.ms(worst))"

        let (created, late) = try await SteadyRate.measureWithLateness(rate: self.rate, seconds: self.seconds) {
            let status = try await load.post("/api/v1/tasks", json: #"{"taskType": "bench_rest"}"#)
            guard status == 201 else { throw ValidationError("CreateTask: HTTP \(status)") }
        }
        print("REST CreateTask at \(self.rate)/s: \(created.summary)")
        print("opened late by:              \(late.summary)")
        print(machine + " rest_create_p99_ms_at\(self.rate)=\(Latencies.ms(created.percentile(99))) late_p99_ms=\(Latencies.ms(late.percentile(99)))")
    }
}

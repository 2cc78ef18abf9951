import ArgumentParser
import BatonClient
import BatonProto
import Foundation
import GRPCCore

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cluster figures: leader, workers, queues, counts.")
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let stats = try await self.server.connect { try await $0.stats() }
        self.server.print(stats, text: overview(stats, rates: nil, colour: self.server.colour))
    }
}

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A live view of leader, workers, queues and rates, until Ctrl-C.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Seconds between refreshes.") var interval = 2.0

    func run() async throws {
        guard self.interval >= 0.2 else { throw ValidationError("--interval must be at least 0.2") }
        let server = self.server
        let interval = self.interval
        try await server.connect { client in
            var previous: (at: ContinuousClock.Instant, stats: Baton_V1_GetStatsResponse)?
            while !Task.isCancelled {
                let stats = try await client.stats()
                let now = ContinuousClock.now
                var rates: Rates?
                if let previous {
                    let seconds = Double((now - previous.at).components.seconds) + Double((now - previous.at).components.attoseconds) / 1e18
                    rates = Rates(stats, since: previous.stats, seconds: seconds)
                }
                if server.machine {
                    server.print(stats, text: "")
                } else {
                    // Home, clear, redraw: one screen that refreshes in place.
                    print("\u{1B}[H\u{1B}[2J" + overview(stats, rates: rates, colour: server.colour) + "\n\n(refreshing every \(interval)s; Ctrl-C to stop)")
                }
                previous = (now, stats)
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }
}

/// Tasks per second between two readings.
struct Rates {
    var dispatched: Double
    var finished: Double
    var failed: Double

    init(_ now: Baton_V1_GetStatsResponse, since before: Baton_V1_GetStatsResponse, seconds: Double) {
        func count(_ stats: Baton_V1_GetStatsResponse, _ names: [String]) -> Int64 { names.reduce(0) { $0 + (stats.tasksByStatus[$1] ?? 0) } }
        let finished = ["TASK_STATUS_SUCCEEDED", "TASK_STATUS_FAILED", "TASK_STATUS_TIMEOUT", "TASK_STATUS_CANCELLED"]
        let failed = ["TASK_STATUS_FAILED", "TASK_STATUS_TIMEOUT"]
        let span = max(seconds, 0.001)
        self.dispatched = Double(now.tasksScheduledTotal - before.tasksScheduledTotal) / span
        self.finished = Double(count(now, finished) - count(before, finished)) / span
        self.failed = Double(count(now, failed) - count(before, failed)) / span
    }
}

func overview(_ stats: Baton_V1_GetStatsResponse, rates: Rates?, colour: Bool, now: Date = Date()) -> String {
    let leader = stats.leaderNodeID.isEmpty ? TextTable.Cell("(none)", .red) : TextTable.Cell(stats.leaderNodeID, .green)
    var lines = [
        "leader     \(colour ? leader.painted : leader.text)  epoch \(stats.leaderEpoch)   (answered by \(stats.nodeID))",
        "queues     high \(stats.queueHigh)  normal \(stats.queueNormal)  delayed \(stats.queueDelayed)",
    ]
    if let rates {
        lines.append(String(format: "rates      dispatched %.0f/s  finished %.0f/s  failed %.1f/s", rates.dispatched, rates.finished, rates.failed))
    }
    if !stats.unservedTaskTypes.isEmpty {
        let unserved = stats.unservedTaskTypes.map { "\($0.taskType) (\($0.parkedTasks) waiting)" }.joined(separator: ", ")
        let cell = TextTable.Cell(unserved, .yellow)
        lines.append("no worker  \(colour ? cell.painted : cell.text)")
    }
    lines.append("")
    var workers = TextTable(header: ["WORKER", "NODE", "RUNNING", "QUEUED", "CAPACITY", "LOAD", "HEARTBEAT", "TYPES"], rightAligned: [2, 3, 4, 5])
    for worker in stats.workers.sorted(by: { $0.workerID < $1.workerID }) {
        let load = worker.capacity > 0 ? Double(worker.running + worker.queued) / Double(worker.capacity) : 0
        let age = worker.hasLastHeartbeat ? now.timeIntervalSince(worker.lastHeartbeat.date) : .infinity
        workers.append([
            TextTable.Cell(worker.workerID), TextTable.Cell(worker.nodeID, .dim), TextTable.Cell("\(worker.running)"), TextTable.Cell("\(worker.queued)"),
            TextTable.Cell("\(worker.capacity)"), TextTable.Cell(String(format: "%.0f%%", load * 100), load >= 1 ? .yellow : .plain),
            TextTable.Cell(age.isFinite ? TimeText.relative(worker.lastHeartbeat.date, now: now) : "-", age > 6 ? .red : .dim),
            TextTable.Cell(worker.taskTypes.isEmpty ? "all" : worker.taskTypes.joined(separator: ","), .dim),
        ])
    }
    lines.append(workers.render(colour: colour))
    lines.append("")
    var counts = TextTable(header: ["STATUS", "TASKS"], rightAligned: [1])
    for status in Baton_V1_TaskStatus.allCases where status != .unspecified {
        let wire = "TASK_STATUS_" + String(describing: status).uppercased()
        guard let count = stats.tasksByStatus[wire], count > 0 else { continue }
        counts.append([statusCell(status), TextTable.Cell("\(count)")])
    }
    lines.append(counts.render(colour: colour))
    return lines.joined(separator: "\n")
}

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Task type configuration.", subcommands: [Put.self, GetConfig.self, ListConfigs.self, Delete.self]
    )

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put",
            abstract: "Create a task type, or change the fields given of an existing one (the rest stay)."
        )
        @OptionGroup var server: ServerOptions
        @Argument var type: String
        @Option(help: "local, http or grpc (new types: local).") var executor: String?
        @Option(help: "URL (http), host:port or grpcs://host:port for TLS (grpc), or handler name (local).") var endpoint: String?
        @Option(help: "Seconds (new types: 60).") var timeout: Int32?
        @Option(help: "Retries (new types: 3).") var retries: Int32?
        @Option(help: "First retry's backoff, ms (new types: 1000).") var backoffMs: Int32?
        @Option(help: "Most tasks of the type at once; 0 = no limit.") var maxConcurrency: Int32?
        @Option(help: "Most starts per second; 0 = no limit.") var rateLimit: Int32?
        @Option(help: "Hours finished tasks are kept; 0 = the cluster's default.") var retentionHours: Int32?
        @Flag(help: "Accept new tasks again.") var enable = false
        @Flag(help: "Refuse new tasks (what the type accepted still runs).") var disable = false
        @Option(help: "Header Name=value (repeatable; replaces the headers).") var header: [String] = []

        func run() async throws {
            guard !(self.enable && self.disable) else { throw ValidationError("--enable and --disable exclude each other") }
            let headers = try parsePairs(self.header, what: "header")
            let config = try await self.server.connect { client in
                // Start from what is stored, so a flag changes only its field.
                var config: Baton_V1_TaskConfig
                do {
                    config = try await client.admin.getTaskConfig(.with { $0.taskType = self.type })
                } catch let error as RPCError where error.code == .notFound {
                    config = .with {
                        $0.taskType = self.type
                        $0.executor = "local"
                        $0.timeoutSeconds = 60
                        $0.maxRetries = 3
                        $0.retryBackoffMs = 1000
                        $0.enabled = true
                    }
                }
                if let executor = self.executor { config.executor = executor }
                if let endpoint = self.endpoint { config.endpoint = endpoint }
                if let timeout = self.timeout { config.timeoutSeconds = timeout }
                if let retries = self.retries { config.maxRetries = retries }
                if let backoff = self.backoffMs { config.retryBackoffMs = backoff }
                if let limit = self.maxConcurrency { config.maxConcurrency = limit }
                if let rate = self.rateLimit { config.rateLimitPerSecond = rate }
                if let hours = self.retentionHours { config.retentionHours = hours }
                if self.enable { config.enabled = true }
                if self.disable { config.enabled = false }
                if !self.header.isEmpty { config.headers = headers }
                return try await client.admin.putTaskConfig(.with { $0.config = config })
            }
            self.server.print(config, text: configDetail(config))
        }
    }

    struct GetConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Show a task type.")
        @OptionGroup var server: ServerOptions
        @Argument var type: String

        func run() async throws {
            let config = try await self.server.connect { try await $0.admin.getTaskConfig(.with { $0.taskType = self.type }) }
            self.server.print(config, text: configDetail(config))
        }
    }

    struct ListConfigs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List task types.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let list = try await self.server.connect { try await $0.admin.listTaskConfigs(.init()) }
            var table = TextTable(header: ["TYPE", "EXECUTOR", "ENDPOINT", "TIMEOUT", "RETRIES", "LIMITS", "STATE"])
            for config in list.configs {
                let limits = [config.maxConcurrency > 0 ? "≤\(config.maxConcurrency) at once" : nil, config.rateLimitPerSecond > 0 ? "\(config.rateLimitPerSecond)/s" : nil]
                    .compactMap { $0 }.joined(separator: ", ")
                table.append([
                    TextTable.Cell(config.taskType), TextTable.Cell(config.executor), TextTable.Cell(config.endpoint.isEmpty ? "-" : config.endpoint, .dim),
                    TextTable.Cell("\(config.timeoutSeconds)s"), TextTable.Cell("\(config.maxRetries)"), TextTable.Cell(limits.isEmpty ? "-" : limits, .dim),
                    config.paused ? TextTable.Cell("paused", .yellow) : config.enabled ? TextTable.Cell("enabled", .green) : TextTable.Cell("disabled", .red),
                ])
            }
            self.server.print(list: list.configs, table: table)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove a task type (refused while it has unfinished tasks).")
        @OptionGroup var server: ServerOptions
        @Argument var type: String
        @Flag(name: .shortAndLong, help: "Do not ask.") var yes = false

        func run() async throws {
            guard self.yes || confirm("Delete task type \(self.type)?") else { throw CLIError("nothing done (confirm, or pass --yes)") }
            let response = try await self.server.connect { try await $0.admin.deleteTaskConfig(.with { $0.taskType = self.type }) }
            self.server.print(response, text: "\(self.type) deleted")
        }
    }
}

func configDetail(_ config: Baton_V1_TaskConfig) -> String {
    let lines: [(String, String)] = [
        ("type", config.taskType),
        ("executor", config.executor + (config.endpoint.isEmpty ? "" : "  \(config.endpoint)")),
        ("timeout", "\(config.timeoutSeconds)s"),
        ("retries", "\(config.maxRetries), backoff \(config.retryBackoffMs) ms"),
        ("limits", "max concurrency \(config.maxConcurrency == 0 ? "-" : "\(config.maxConcurrency)"), rate \(config.rateLimitPerSecond == 0 ? "-" : "\(config.rateLimitPerSecond)/s")"),
        ("state", config.paused ? "paused" : config.enabled ? "enabled" : "disabled (refuses new tasks)"),
        ("retention", config.retentionHours == 0 ? "cluster default" : "\(config.retentionHours) h"),
        ("headers", config.headers.keys.sorted().joined(separator: ", ").isEmpty ? "-" : config.headers.keys.sorted().joined(separator: ", ")),
        ("updated", TimeText.absolute(config.updatedAt.date)),
    ]
    return lines.map { "\($0.0.padding(toLength: 10, withPad: " ", startingAt: 0)) \($0.1)" }.joined(separator: "\n")
}

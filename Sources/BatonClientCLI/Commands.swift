import ArgumentParser
import BatonClient
import BatonProto
import Foundation
import GRPCCore

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a task.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Task type.") var type: String
    @Option(name: .shortAndLong, help: "Payload entry key=value (repeatable).") var payload: [String] = []
    @Flag(help: "High priority.") var high = false
    @Option(help: "Idempotency key.") var idempotencyKey = ""

    func run() async throws {
        let payload = try parsePayload(self.payload)
        let task = try await self.server.connect { client in
            try await client.createTask(type: self.type, payload: payload, priority: self.high ? .high : .normal, idempotencyKey: self.idempotencyKey)
        }
        self.server.print(task, text: describe(task))
    }
}

struct Batch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create N tasks in one call.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Task type.") var type: String
    @Option(help: "How many.") var count = 10

    func run() async throws {
        let tasks = try await self.server.connect { client in
            try await client.batchCreate(Array(repeating: .with { $0.taskType = self.type }, count: self.count))
        }
        for task in tasks { self.server.print(task, text: describe(task)) }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a task.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String

    func run() async throws {
        let task = try await self.server.connect { try await $0.getTask(self.id) }
        self.server.print(task, text: describe(task))
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List tasks, newest first.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Task type filter.") var type = ""
    @Option(help: "Page size.") var limit: Int32 = 20

    func run() async throws {
        let page = try await self.server.connect { client in
            try await client.tasks.listTasks(.with {
                $0.taskType = self.type
                $0.pageSize = self.limit
            })
        }
        self.server.print(page, text: page.tasks.map(describe).joined(separator: "\n"))
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a task.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String
    @Option(help: "Why.") var reason = ""

    func run() async throws {
        let task = try await self.server.connect { try await $0.cancelTask(self.id, reason: self.reason) }
        self.server.print(task, text: describe(task))
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a task's log lines.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String
    @Flag(help: "Keep printing new lines until the task finishes.") var follow = false

    func run() async throws {
        try await self.server.connect { client in
            var printed = 0
            while true {
                let lines = try await client.logs(self.id)
                for line in lines.dropFirst(printed) {
                    self.server.print(line, text: "\(line.createdAt.date)  #\(line.attempt)  \(line.level)  \(line.message)")
                }
                printed = lines.count
                if !self.follow { return }
                if try await client.getTask(self.id).status.isTerminal {
                    for line in try await client.logs(self.id).dropFirst(printed) {
                        self.server.print(line, text: "\(line.createdAt.date)  #\(line.attempt)  \(line.level)  \(line.message)")
                    }
                    return
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a task's state each time it changes, until it finishes.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String

    func run() async throws {
        let server = self.server
        _ = try await server.connect { client in
            try await client.watch(self.id) { task in server.print(task, text: describe(task)) }
        }
    }
}

struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Wait until a task finishes.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String
    @Option(help: "Seconds to wait.") var timeout = 60.0

    func run() async throws {
        let task = try await self.server.connect { try await $0.waitForTask(self.id, timeout: .seconds(self.timeout)) }
        self.server.print(task, text: describe(task))
        if task.status != .succeeded { throw ExitCode(1) }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cluster figures: leader, workers, queues, counts.")
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let stats = try await self.server.connect { try await $0.stats() }
        var lines = [
            "answered by  \(stats.nodeID)",
            "leader       \(stats.leaderNodeID.isEmpty ? "(none)" : stats.leaderNodeID)  epoch \(stats.leaderEpoch)",
            "queues       high \(stats.queueHigh)  normal \(stats.queueNormal)  delayed \(stats.queueDelayed)",
            "dispatched   \(stats.tasksScheduledTotal)",
            "workers:",
        ]
        for worker in stats.workers {
            let beat = worker.hasLastHeartbeat ? "\(String(format: "%.1f", Date().timeIntervalSince(worker.lastHeartbeat.date))) s ago" : "-"
            lines.append("  \(worker.workerID.padding(toLength: 20, withPad: " ", startingAt: 0)) node \(worker.nodeID)  load \(worker.running)+\(worker.queued)/\(worker.capacity)  last beat \(beat)")
        }
        lines.append("tasks:")
        for (status, count) in stats.tasksByStatus.sorted(by: { $0.key < $1.key }) where count > 0 {
            lines.append("  \(status.replacingOccurrences(of: "TASK_STATUS_", with: "").lowercased().padding(toLength: 12, withPad: " ", startingAt: 0)) \(count)")
        }
        self.server.print(stats, text: lines.joined(separator: "\n"))
    }
}

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Task type configuration.", subcommands: [Put.self, GetConfig.self, ListConfigs.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "put", abstract: "Create or replace a task type.")
        @OptionGroup var server: ServerOptions
        @Argument var type: String
        @Option(help: "local, http or grpc.") var executor = "local"
        @Option(help: "URL (http), host:port (grpc) or handler name (local).") var endpoint = ""
        @Option var timeout: Int32 = 60
        @Option var retries: Int32 = 3
        @Option var backoffMs: Int32 = 1000
        @Option var maxConcurrency: Int32 = 0
        @Option var rateLimit: Int32 = 0
        @Flag var disabled = false
        @Option(help: "Header Name=value (repeatable).") var header: [String] = []

        func run() async throws {
            let headers = try parsePayload(self.header)
            let config = try await self.server.connect { client in
                try await client.admin.putTaskConfig(.with {
                    $0.config = .with {
                        $0.taskType = self.type
                        $0.executor = self.executor
                        $0.endpoint = self.endpoint
                        $0.timeoutSeconds = self.timeout
                        $0.maxRetries = self.retries
                        $0.retryBackoffMs = self.backoffMs
                        $0.maxConcurrency = self.maxConcurrency
                        $0.rateLimitPerSecond = self.rateLimit
                        $0.enabled = !self.disabled
                        $0.headers = headers
                    }
                })
            }
            self.server.print(config, text: "\(config.taskType)  \(config.executor) \(config.endpoint)  enabled \(config.enabled)")
        }
    }

    struct GetConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Show a task type.")
        @OptionGroup var server: ServerOptions
        @Argument var type: String

        func run() async throws {
            let config = try await self.server.connect { try await $0.admin.getTaskConfig(.with { $0.taskType = self.type }) }
            self.server.print(config, text: "\(config.taskType)  \(config.executor) \(config.endpoint)  timeout \(config.timeoutSeconds) s  retries \(config.maxRetries)  enabled \(config.enabled)")
        }
    }

    struct ListConfigs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List task types.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let list = try await self.server.connect { try await $0.admin.listTaskConfigs(.init()) }
            self.server.print(list, text: list.configs.map { "\($0.taskType)  \($0.executor) \($0.endpoint)  enabled \($0.enabled)" }.joined(separator: "\n"))
        }
    }
}

import ArgumentParser
import BatonClient
import BatonProto
import Foundation
import GRPCCore
import SwiftProtobuf

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a task.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Task type.") var type: String
    @Option(name: .shortAndLong, help: "Payload entry key=value (repeatable).") var payload: [String] = []
    @Option(help: "Payload as a JSON object of strings, from a file ('-': stdin).") var payloadFile: String?
    @Option(help: "Typed arguments: a JSON object ('{\"amount\":42}'), @file.json or @- (stdin); instead of a payload.") var args: String?
    @Flag(help: "High priority.") var high = false
    @Option(name: [.customLong("key"), .customLong("idempotency-key")], help: "Idempotency key.") var key = ""
    @Option(help: "Run at: a date (2026-12-01T10:00:00Z) or a delay (30s, 5m, 2h).") var runAt: String?
    @Option(help: "Timeout in seconds (default: the type's).") var timeout: Int32?
    @Option(help: "Retries (default: the type's).") var retries: Int32?
    @Option(help: "Wait up to this many seconds (at most 300) for the task to finish; exit 1 unless it SUCCEEDED, as `wait` does.")
    var wait: Int32?
    @Option(help: "Runs after this task SUCCEEDED (a task id; repeatable); WAITING until then.") var dependsOn: [String] = []

    func run() async throws {
        var payload = try readPayload(self.payloadFile)
        payload.merge(try parsePairs(self.payload)) { _, new in new }
        let args = try parseArgs(self.args, payload: payload)
        let runAt = try self.runAt.map(parseRunAt)
        let request = Baton_V1_CreateTaskRequest.with {
            $0.taskType = self.type
            $0.payload = payload
            if let args { $0.args = args }
            $0.priority = self.high ? .high : .normal
            $0.idempotencyKey = self.key
            if let runAt { $0.runAt = Google_Protobuf_Timestamp(date: runAt) }
            if let timeout = self.timeout { $0.timeoutSeconds = timeout }
            if let retries = self.retries { $0.maxRetries = retries }
            if let wait = self.wait { $0.waitSeconds = wait }
            $0.dependsOn = self.dependsOn
        }
        let created = try await self.server.connect { try await $0.tasks.createTask(request) }
        self.server.print(created, text: detail(created.task, colour: self.server.colour) + (created.deduplicated ? "\n(an existing task: same idempotency key)" : ""))
        guard let wait = self.wait, wait > 0 else { return }
        if !created.task.status.isTerminal {
            FileHandle.standardError.write(Data("task \(created.task.taskID) has not finished: the wait ended first\n".utf8))
        }
        if created.task.status != .succeeded { throw ExitCode(1) }
    }
}

struct Batch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create N tasks of a type, in calls of up to 500.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Task type.") var type: String
    @Option(help: "How many.") var count = 10
    @Option(help: "Payload as a JSON object of strings, from a file ('-': stdin), the same for each.") var payloadFile: String?
    @Option(help: "Typed arguments, the same for each: a JSON object, @file.json or @- (stdin); instead of a payload.") var args: String?

    func run() async throws {
        guard self.count > 0 else { throw ValidationError("--count must be positive") }
        let payload = try readPayload(self.payloadFile)
        let args = try parseArgs(self.args, payload: payload)
        let server = self.server
        let total = self.count
        let type = self.type
        let created = try await server.connect { client in
            var created: [Baton_V1_Task] = []
            let bar = ProgressBar(total: total)
            while created.count < total {
                let n = min(500, total - created.count)
                created += try await client.batchCreate(Array(repeating: .with {
                    $0.taskType = type
                    $0.payload = payload
                    if let args { $0.args = args }
                }, count: n))
                server.progress("creating " + bar.render(created.count), done: created.count == total)
            }
            return created
        }
        server.print(list: created, table: taskTable(created))
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a task.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String

    func run() async throws {
        let task = try await self.server.connect { try await $0.getTask(self.id) }
        self.server.print(task, text: detail(task, colour: self.server.colour))
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List tasks, newest first.")
    @OptionGroup var server: ServerOptions
    @Option(name: .customLong("status"), help: "Status (repeatable or comma-separated): queued, running, failed, …") var statuses: [String] = []
    @Option(help: "Task type.") var type = ""
    @Option(help: "Created since: a duration back (15m, 2h, 7d) or a date.") var since: String?
    @Option(help: "Created before: a duration back or a date.") var until: String?
    @Option(help: "Worker id of the latest attempt (with --status, --type or --since).") var worker = ""
    @Option(help: "Idempotency key (with --type: keys are unique per type).") var key = ""
    @Option(help: "Only tasks this schedule created.") var schedule = ""
    @Option(help: "Only the tasks that depend on this task (its dependents).") var dependsOn = ""
    @Flag(help: "Oldest first.") var oldest = false
    @Option(help: "Tasks to show (pages are fetched as needed).") var limit = 20
    @Option(help: "Continue from a previous --page-token.") var pageToken = ""

    func run() async throws {
        guard self.limit > 0 else { throw ValidationError("--limit must be positive") }
        let statuses = try parseStatuses(self.statuses)
        let since = try self.since.map { try parseInstant($0, option: "--since") }
        let until = try self.until.map { try parseInstant($0, option: "--until") }
        let (tasks, next) = try await self.server.connect { client in
            var tasks: [Baton_V1_Task] = []
            var token = self.pageToken
            repeat {
                let page = try await client.tasks.listTasks(.with {
                    $0.statuses = statuses
                    $0.taskType = self.type
                    if let since { $0.createdAfter = Google_Protobuf_Timestamp(date: since) }
                    if let until { $0.createdBefore = Google_Protobuf_Timestamp(date: until) }
                    $0.workerID = self.worker
                    $0.idempotencyKey = self.key
                    $0.scheduleID = self.schedule
                    $0.dependsOn = self.dependsOn
                    $0.oldestFirst = self.oldest
                    $0.pageSize = Int32(min(1000, self.limit - tasks.count))
                    $0.pageToken = token
                })
                tasks += page.tasks
                token = page.nextPageToken
            } while !token.isEmpty && tasks.count < self.limit
            return (tasks, token)
        }
        self.server.print(list: tasks, table: taskTable(tasks))
        if !next.isEmpty && !self.server.machine {
            FileHandle.standardError.write(Data("more: --page-token \(next)\n".utf8))
        }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a task.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String
    @Option(help: "Why (logged on the task).") var reason = ""

    func run() async throws {
        let task = try await self.server.connect { try await $0.cancelTask(self.id, reason: self.reason) }
        self.server.print(task, text: detail(task, colour: self.server.colour))
    }
}

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a FAILED, TIMEOUT or CANCELLED task again, with its retries afresh.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String
    @Option(help: "Why (logged on the task).") var reason = ""
    @Flag(help: "At high priority.") var high = false

    func run() async throws {
        let response = try await self.server.connect { client in
            try await client.tasks.retryTask(.with {
                $0.taskID = self.id
                $0.reason = self.reason
                if self.high { $0.priority = .high }
            })
        }
        self.server.print(response, text: detail(response.task, colour: self.server.colour))
    }
}

/// What bulk-retry and bulk-cancel share: the filter, a dry run first, the
/// question, then the work in calls of `chunk` tasks with a progress bar.
struct BulkOptions: ParsableArguments {
    @Option(name: .customLong("status"), help: "Status (repeatable or comma-separated).") var statuses: [String] = []
    @Option(help: "Task type.") var type = ""
    @Option(help: "Created since: a duration back (2h, 7d) or a date.") var since: String?
    @Option(help: "Created before: a duration back or a date.") var until: String?
    @Option(help: "Why (logged on each task).") var reason = ""
    @Option(help: "At most this many tasks.") var limit = 10_000
    @Flag(help: "Only count what would change.") var dryRun = false
    @Flag(name: .shortAndLong, help: "Do not ask.") var yes = false

    func filter() throws -> Baton_V1_TaskFilter {
        let statuses = try parseStatuses(self.statuses)
        let since = try self.since.map { try parseInstant($0, option: "--since") }
        let until = try self.until.map { try parseInstant($0, option: "--until") }
        return .with {
            $0.statuses = statuses
            $0.taskType = self.type
            if let since { $0.createdAfter = Google_Protobuf_Timestamp(date: since) }
            if let until { $0.createdBefore = Google_Protobuf_Timestamp(date: until) }
        }
    }

    func run(
        _ verb: String, server: ServerOptions,
        call: @escaping @Sendable (BatonClient, Baton_V1_BulkTasksRequest) async throws -> Baton_V1_BulkTasksResponse
    ) async throws {
        let filter = try self.filter()
        guard (1...100_000).contains(self.limit) else { throw ValidationError("--limit must be 1-100000") }
        let limit = self.limit
        let reason = self.reason
        let preview = try await server.connect { client in
            try await call(client, .with {
                $0.filter = filter
                $0.limit = Int32(limit)
                $0.dryRun = true
            })
        }
        if self.dryRun || preview.matched == 0 {
            server.print(preview, text: "\(preview.matched) tasks would be \(verb)")
            return
        }
        guard self.yes || confirm("\(verb.capitalized) \(preview.matched) tasks?") else {
            throw CLIError("nothing done (confirm, or pass --yes)")
        }
        let bar = ProgressBar(total: Int(preview.matched))
        let total = try await server.connect { client in
            var matched: Int64 = 0
            var changed: Int64 = 0
            // Calls of 1,000 (the server walks each in batches): progress, and no call runs long.
            while matched < preview.matched {
                let step = try await call(client, .with {
                    $0.filter = filter
                    $0.limit = Int32(min(1000, preview.matched - matched))
                    $0.reason = reason
                })
                matched += step.matched
                changed += step.changed
                server.progress("\(verb) " + bar.render(Int(matched)))
                if step.matched == 0 || step.changed == 0 { break }
            }
            server.progress("\(verb) " + bar.render(Int(matched)), done: true)
            return Baton_V1_BulkTasksResponse.with {
                $0.matched = matched
                $0.changed = changed
            }
        }
        server.print(total, text: "\(total.changed) of \(total.matched) tasks \(verb)")
    }
}

struct BulkRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulk-retry", abstract: "Run again every FAILED, TIMEOUT or CANCELLED task matching the filter."
    )
    @OptionGroup var server: ServerOptions
    @OptionGroup var bulk: BulkOptions

    func run() async throws {
        try await self.bulk.run("retried", server: self.server) { client, request in try await client.tasks.bulkRetryTasks(request) }
    }
}

struct BulkCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bulk-cancel", abstract: "Cancel every unfinished task matching the filter.")
    @OptionGroup var server: ServerOptions
    @OptionGroup var bulk: BulkOptions

    func run() async throws {
        try await self.bulk.run("cancelled", server: self.server) { client, request in try await client.tasks.bulkCancelTasks(request) }
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a task's log lines.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String
    @Flag(help: "Keep printing new lines until the task finishes.") var follow = false

    func run() async throws {
        let server = self.server
        try await server.connect { client in
            var printed = 0
            func show(_ lines: [Baton_V1_TaskLog]) {
                for line in lines.dropFirst(printed) {
                    let tint: TextTable.Tint = line.level == "ERROR" ? .red : line.level == "WARN" ? .yellow : .plain
                    let text = "\(TimeText.absolute(line.createdAt.date))  #\(line.attempt)  \(line.level.padding(toLength: 5, withPad: " ", startingAt: 0))  \(line.message)"
                    server.print(line, text: server.colour ? TextTable.Cell(text, tint).painted : text)
                }
                printed = lines.count
            }
            while true {
                show(try await client.logs(self.id))
                if !self.follow { return }
                if try await client.getTask(self.id).status.isTerminal {
                    show(try await client.logs(self.id))
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
            try await client.watch(self.id) { task in server.print(task, text: summary(task, colour: server.colour)) }
        }
    }
}

struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Wait until a task finishes; exit 1 unless it SUCCEEDED.")
    @OptionGroup var server: ServerOptions
    @Argument var id: String
    @Option(help: "Seconds to wait.") var timeout = 60.0

    func run() async throws {
        let task = try await self.server.connect { try await $0.waitForTask(self.id, timeout: .seconds(self.timeout)) }
        self.server.print(task, text: detail(task, colour: self.server.colour))
        if task.status != .succeeded { throw ExitCode(1) }
    }
}

struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pause a task type: its tasks wait in place, new ones are accepted.")
    @OptionGroup var server: ServerOptions
    @Argument var type: String

    func run() async throws {
        let config = try await self.server.connect { try await $0.admin.pauseTaskType(.with { $0.taskType = self.type }) }
        self.server.print(config, text: "\(config.taskType) paused")
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused task type, in the original order.")
    @OptionGroup var server: ServerOptions
    @Argument var type: String

    func run() async throws {
        let config = try await self.server.connect { try await $0.admin.resumeTaskType(.with { $0.taskType = self.type }) }
        self.server.print(config, text: "\(config.taskType) resumed")
    }
}

// MARK: input

func readPayload(_ path: String?) throws -> [String: String] {
    guard let path else { return [:] }
    let data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw ValidationError("the payload must be a JSON object")
    }
    var payload: [String: String] = [:]
    for (key, value) in object {
        guard let text = value as? String else { throw ValidationError("payload values must be strings (\(key) is not)") }
        payload[key] = text
    }
    return payload
}

/// `--args`, refused beside a payload as the server refuses it (one or the other).
func parseArgs(_ option: String?, payload: [String: String]) throws -> Google_Protobuf_Struct? {
    guard let option else { return nil }
    guard payload.isEmpty else { throw ValidationError("--args and a payload (--payload, --payload-file) exclude each other") }
    do {
        return try ArgumentsText.parse(option)
    } catch let invalid as ArgumentsText.Invalid {
        throw ValidationError(invalid.description)
    }
}

func parseStatuses(_ values: [String]) throws -> [Baton_V1_TaskStatus] {
    try values.flatMap { $0.split(separator: ",") }.map { name in
        let wanted = name.trimmingCharacters(in: .whitespaces).lowercased()
        guard let status = Baton_V1_TaskStatus.allCases.first(where: { statusName($0) == wanted }) else {
            throw ValidationError("unknown status \(name): one of \(Baton_V1_TaskStatus.allCases.map(statusName).filter { $0 != "unspecified" }.joined(separator: ", "))")
        }
        return status
    }
}

func parseInstant(_ text: String, option: String) throws -> Date {
    guard let date = TimeText.instant(text) else { throw ValidationError("\(option) takes a duration back (15m, 2h, 7d) or a date (2026-12-01T10:00:00Z)") }
    return date
}

func parseRunAt(_ text: String) throws -> Date {
    if let delay = TimeText.duration(text) { return Date().addingTimeInterval(delay) }
    guard let date = TimeText.date(text) else { throw ValidationError("--run-at takes a date (2026-12-01T10:00:00Z) or a delay (30s, 5m)") }
    return date
}

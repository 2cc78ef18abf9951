import ArgumentParser
import BatonClient
import BatonProto
import Foundation
import GRPCCore

/// `baton-client schedule …`: schedules over AdminService. Pause and resume
/// read the schedule and put it back with `paused` changed, as the REST
/// conveniences do.
struct Schedule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cron schedules: the leader creates a task at each fire time.",
        subcommands: [Put.self, GetSchedule.self, ListSchedules.self, Delete.self, PauseSchedule.self, ResumeSchedule.self, Trigger.self]
    )

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put", abstract: "Create a schedule, or change the fields given of an existing one (the rest stay)."
        )
        @OptionGroup var server: ServerOptions
        @Argument(help: "Schedule id ([A-Za-z0-9_.-], up to 64).") var id: String
        @Option(help: "Cron expression: '30 2 * * *', six fields with seconds, @daily, '@every 10m' (new schedules: required).") var cron: String?
        @Option(help: "IANA time zone, e.g. Europe/Berlin ('' = UTC).") var zone: String?
        @Option(help: "Task type (new schedules: required).") var type: String?
        @Option(name: .shortAndLong, help: "Payload entry key=value (repeatable; replaces the payload and args).") var payload: [String] = []
        @Option(help: "Typed arguments of its tasks: a JSON object, @file.json or @- (stdin); replaces the payload and args.") var args: String?
        @Option(help: "Priority: high or normal.") var priority: String?
        @Option(help: "Missed fire times: run-once (default), skip or run-all.") var misfire: String?
        @Option(help: "While the previous task is unfinished: allow (default), skip, or cancel-previous.") var overlap: String?
        @Option(help: "Per-task timeout in seconds (default: the type's).") var timeout: Int32?
        @Option(help: "Per-task retries (default: the type's).") var retries: Int32?
        @Flag(help: "Stop firing.") var paused = false
        @Flag(help: "Fire again (missed times follow the misfire policy).") var active = false

        func run() async throws {
            guard !(self.paused && self.active) else { throw ValidationError("--paused and --active exclude each other") }
            let misfire = try self.misfire.map { text in
                guard let value = ScheduleText.misfire(text) else { throw ValidationError("--misfire: run-once, skip or run-all, not \(text)") }
                return value
            }
            let overlap = try self.overlap.map { text in
                guard let value = ScheduleText.overlap(text) else { throw ValidationError("--overlap: allow, skip or cancel-previous, not \(text)") }
                return value
            }
            let high = try self.priority.map { text -> Bool in
                guard ["high", "normal"].contains(text.lowercased()) else { throw ValidationError("--priority: high or normal, not \(text)") }
                return text.lowercased() == "high"
            }
            let payload = try parsePairs(self.payload)
            let args = try parseArgs(self.args, payload: payload)
            let stored = try await self.server.connect { client in
                // Start from what is stored, so an option changes only its field.
                var schedule: Baton_V1_Schedule
                do {
                    schedule = try await client.admin.getSchedule(.with { $0.scheduleID = self.id })
                } catch let error as RPCError where error.code == .notFound {
                    guard self.cron != nil, self.type != nil else { throw CLIError("a new schedule needs --cron and --type") }
                    schedule = .with { $0.scheduleID = self.id }
                }
                if let cron = self.cron { schedule.cron = cron }
                if let zone = self.zone { schedule.timeZone = zone }
                if let type = self.type { schedule.taskType = type }
                // A schedule holds a payload or args: setting one clears the other.
                if !self.payload.isEmpty {
                    schedule.payload = payload
                    schedule.clearArgs()
                }
                if let args {
                    schedule.args = args
                    schedule.payload = [:]
                }
                if let high { schedule.priority = high ? .high : .normal }
                if let misfire { schedule.misfire = misfire }
                if let overlap { schedule.overlap = overlap }
                if let timeout = self.timeout { schedule.timeoutSeconds = timeout }
                if let retries = self.retries { schedule.maxRetries = retries }
                if self.paused { schedule.paused = true }
                if self.active { schedule.paused = false }
                return try await client.admin.putSchedule(.with { $0.schedule = schedule })
            }
            self.server.print(stored, text: ScheduleText.detail(stored))
        }
    }

    struct GetSchedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Show a schedule.")
        @OptionGroup var server: ServerOptions
        @Argument var id: String

        func run() async throws {
            let schedule = try await self.server.connect { try await $0.admin.getSchedule(.with { $0.scheduleID = self.id }) }
            self.server.print(schedule, text: ScheduleText.detail(schedule))
        }
    }

    struct ListSchedules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List schedules.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let list = try await self.server.connect { try await $0.admin.listSchedules(.init()) }
            self.server.print(list: list.schedules, table: ScheduleText.table(list.schedules))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove a schedule (its tasks stay).")
        @OptionGroup var server: ServerOptions
        @Argument var id: String
        @Flag(name: .shortAndLong, help: "Do not ask.") var yes = false

        func run() async throws {
            guard self.yes || confirm("Delete schedule \(self.id)?") else { throw CLIError("nothing done (confirm, or pass --yes)") }
            let response = try await self.server.connect { try await $0.admin.deleteSchedule(.with { $0.scheduleID = self.id }) }
            self.server.print(response, text: "\(self.id) deleted")
        }
    }

    struct PauseSchedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop a schedule firing.")
        @OptionGroup var server: ServerOptions
        @Argument var id: String

        func run() async throws {
            let schedule = try await self.server.connect { try await Schedule.setPaused(self.id, true, client: $0) }
            self.server.print(schedule, text: ScheduleText.detail(schedule))
        }
    }

    struct ResumeSchedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume", abstract: "Let a paused schedule fire again (missed times follow its misfire policy)."
        )
        @OptionGroup var server: ServerOptions
        @Argument var id: String

        func run() async throws {
            let schedule = try await self.server.connect { try await Schedule.setPaused(self.id, false, client: $0) }
            self.server.print(schedule, text: ScheduleText.detail(schedule))
        }
    }

    struct Trigger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a task of the schedule now (whatever its pause or overlap policy).")
        @OptionGroup var server: ServerOptions
        @Argument var id: String

        func run() async throws {
            let created = try await self.server.connect { try await $0.admin.triggerSchedule(.with { $0.scheduleID = self.id }) }
            self.server.print(created, text: detail(created.task, colour: self.server.colour))
        }
    }

    /// Get, then put with `paused` (the stored expression and zone, so the pending fire time stays).
    static func setPaused(_ id: String, _ paused: Bool, client: BatonClient) async throws -> Baton_V1_Schedule {
        var schedule = try await client.admin.getSchedule(.with { $0.scheduleID = id })
        guard schedule.paused != paused else { return schedule }
        schedule.paused = paused
        return try await client.admin.putSchedule(.with { $0.schedule = schedule })
    }
}

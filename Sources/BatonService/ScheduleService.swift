import BatonAuth
import BatonBroker
import BatonCron
import BatonModel
import BatonProto
import BatonStore
import Foundation
import GRPCCore
import Logging

/// Schedules through the APIs (gRPC `baton.v1.AdminService`, REST, the
/// dashboard); transport-free, as `TaskService` is. The leader's
/// `ScheduleFirer` creates their tasks.
public struct ScheduleService: Sendable {
    let store: ScheduleStore
    let configs: TaskConfigCache
    let broker: RedisBroker
    let validator: TaskRequestValidator
    let logger: Logger

    /// `[A-Za-z0-9_.-]{1,64}`, as the contract says.
    static let idRule = "[A-Za-z0-9_.-]{1,64}"

    public init(store: ScheduleStore, configs: TaskConfigCache, broker: RedisBroker, limits: ValidationLimits = ValidationLimits(), logger: Logger) {
        self.store = store
        self.configs = configs
        self.broker = broker
        self.validator = TaskRequestValidator(limits: limits)
        self.logger = logger
    }

    public func putSchedule(_ request: Baton_V1_PutScheduleRequest) async throws -> Baton_V1_Schedule {
        let schedule = request.schedule
        try Self.validate(id: schedule.scheduleID)
        let cron: CronSchedule
        do {
            cron = try CronSchedule(cron: schedule.cron, timeZoneName: schedule.timeZone)
        } catch {
            throw RPCErrors.invalid("cron \"\(schedule.cron)\"\(schedule.timeZone.isEmpty ? "" : " in \(schedule.timeZone)"): \(error)")
        }
        if case .UNRECOGNIZED(let value) = schedule.misfire { throw RPCErrors.invalid("misfire must be 0-2, got \(value)") }
        if case .UNRECOGNIZED(let value) = schedule.overlap { throw RPCErrors.invalid("overlap must be 0-2, got \(value)") }
        // The template is checked as the CreateTask it will be.
        let template = Baton_V1_CreateTaskRequest.with {
            $0.taskType = schedule.taskType
            $0.payload = schedule.payload
            if schedule.hasArgs { $0.args = schedule.args }
            $0.priority = schedule.priority
            if schedule.hasTimeoutSeconds { $0.timeoutSeconds = schedule.timeoutSeconds }
            if schedule.hasMaxRetries { $0.maxRetries = schedule.maxRetries }
        }
        let now = self.broker.clock.now().roundedToMicroseconds
        let args: String?
        do {
            try self.validator.validate(template, now: now)
            args = try self.validator.args(template)
            let config = try await RPCErrors.guarding("PutSchedule", logger: self.logger) { try await self.configs.config(schedule.taskType) }
            try self.validator.validate(config: config, taskType: schedule.taskType)
        } catch let error as RPCErrorBox {
            throw RPCErrors.invalid(error.message)
        }
        let stored = try await RPCErrors.guarding("PutSchedule", logger: self.logger) { () -> ScheduleRecord? in
            let existing = try await self.store.schedule(schedule.scheduleID)
            try await self.store.put(
                ScheduleRecord(
                    scheduleID: schedule.scheduleID,
                    tenant: Caller.current.tenant,
                    cron: schedule.cron,
                    timeZone: schedule.timeZone,
                    taskType: schedule.taskType,
                    payload: schedule.payload,
                    args: args,
                    priority: schedule.priority == .high ? .high : .normal,
                    paused: schedule.paused,
                    misfire: ScheduleRecord.Misfire(rawValue: schedule.misfire.rawValue) ?? .runOnce,
                    overlap: ScheduleRecord.Overlap(rawValue: schedule.overlap.rawValue) ?? .allow,
                    timeoutSeconds: schedule.hasTimeoutSeconds ? Int(schedule.timeoutSeconds) : nil,
                    maxRetries: schedule.hasMaxRetries ? Int(schedule.maxRetries) : nil,
                    nextFireAt: cron.nextFire(after: now),
                    createdAt: existing?.createdAt ?? now,
                    updatedAt: now
                )
            )
            return try await self.store.schedule(schedule.scheduleID)
        }
        guard let stored else { throw RPCError(code: .unavailable, message: "the schedule was deleted while it was put; put it again") }
        self.logger.info(
            "schedule put",
            metadata: [
                "schedule_id": "\(stored.scheduleID)", "cron": "\(stored.cron)", "time_zone": "\(stored.timeZone)",
                "task_type": "\(stored.taskType)", "paused": "\(stored.paused)", "by": "\(Caller.description)",
            ]
        )
        return Baton_V1_Schedule(stored)
    }

    public func getSchedule(_ request: Baton_V1_GetScheduleRequest) async throws -> Baton_V1_Schedule {
        Baton_V1_Schedule(try await self.existing(request.scheduleID, operation: "GetSchedule"))
    }

    public func listSchedules(_ request: Baton_V1_ListSchedulesRequest) async throws -> Baton_V1_ListSchedulesResponse {
        let all = try await RPCErrors.guarding("ListSchedules", logger: self.logger) { try await self.store.all() }
        return .with { $0.schedules = all.map(Baton_V1_Schedule.init) }
    }

    /// Its tasks stay (they name it in `schedule_id`).
    public func deleteSchedule(_ request: Baton_V1_DeleteScheduleRequest) async throws -> Baton_V1_DeleteScheduleResponse {
        try Self.validate(id: request.scheduleID)
        let deleted = try await RPCErrors.guarding("DeleteSchedule", logger: self.logger) { try await self.store.delete(request.scheduleID) }
        guard deleted else { throw RPCError(code: .notFound, message: "schedule \(request.scheduleID) does not exist") }
        // Its fire records go too (its tasks stay, naming it); a failure
        // here leaves them to nobody, so it is logged, not hidden.
        do {
            while try await self.store.pruneFires(request.scheduleID, limit: 10_000) == 10_000 {}
        } catch {
            self.logger.warning("schedule deleted; its fire records were not", metadata: ["schedule_id": "\(request.scheduleID)", "error": "\(error)"])
        }
        self.logger.info("schedule deleted", metadata: ["schedule_id": "\(request.scheduleID)", "by": "\(Caller.description)"])
        return .init()
    }

    /// A task of the schedule now, outside its fire times (and whatever its
    /// overlap policy or pause: the operator asked for it).
    public func triggerSchedule(_ request: Baton_V1_TriggerScheduleRequest) async throws -> Baton_V1_CreateTaskResponse {
        let schedule = try await self.existing(request.scheduleID, operation: "TriggerSchedule")
        let now = self.broker.clock.now().roundedToMicroseconds
        let fired = try await RPCErrors.guarding("TriggerSchedule", logger: self.logger) { () -> ScheduleStore.Fired? in
            let config = try await self.configs.config(schedule.taskType)
            return try await self.store.trigger(schedule, task: schedule.task(scheduledFor: now, config: config, now: now))
        }
        guard let fired else { throw RPCError(code: .notFound, message: "schedule \(request.scheduleID) does not exist") }
        guard let task = fired.created.first else {
            throw RPCError(code: .failedPrecondition, message: "no task created: \(fired.notes.joined(separator: "; "))")
        }
        // Committed: a failed push leaves it to the reconciler (never lost, never twice).
        try await RPCErrors.guarding("TriggerSchedule", logger: self.logger) { try await self.broker.enqueue([task], now: now) }
        self.logger.info("schedule triggered", metadata: ["schedule_id": "\(schedule.scheduleID)", "task_id": "\(task.taskID)", "by": "\(Caller.description)"])
        return .with { $0.task = Baton_V1_Task(task) }
    }

    private func existing(_ scheduleID: String, operation: String) async throws -> ScheduleRecord {
        try Self.validate(id: scheduleID)
        let schedule = try await RPCErrors.guarding(operation, logger: self.logger) { try await self.store.schedule(scheduleID) }
        guard let schedule else { throw RPCError(code: .notFound, message: "schedule \(scheduleID) does not exist") }
        return schedule
    }

    static func validate(id: String) throws(RPCError) {
        guard Self.isValid(id: id) else { throw RPCErrors.invalid("schedule_id must match \(Self.idRule)") }
    }

    static func isValid(id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2E || byte == 0x2D
            }
    }
}

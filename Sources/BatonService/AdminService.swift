import BatonAuth
import BatonBroker
import BatonModel
import BatonProto
import BatonStore
import Foundation
import GRPCCore
import Logging

/// Task types configured through the APIs (gRPC `baton.v1.AdminService`,
/// REST, the dashboard); transport-free, as `TaskService` is.
public struct AdminService: Sendable {
    let store: TaskConfigStore
    let schedules: ScheduleStore
    let cache: TaskConfigCache
    let broker: RedisBroker
    let validator: TaskConfigValidator
    let logger: Logger

    public init(
        store: TaskConfigStore, schedules: ScheduleStore, cache: TaskConfigCache, broker: RedisBroker, limits: ValidationLimits = ValidationLimits(),
        logger: Logger
    ) {
        self.store = store
        self.schedules = schedules
        self.cache = cache
        self.broker = broker
        self.validator = TaskConfigValidator(limits: limits)
        self.logger = logger
    }

    public func putTaskConfig(_ request: Baton_V1_PutTaskConfigRequest) async throws -> Baton_V1_TaskConfig {
        let record: TaskConfigRecord
        do {
            record = try self.validator.record(from: request.config, now: Date().roundedToMicroseconds)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        // `paused` is not the caller's to set here: the stored row answers.
        let stored = try await RPCErrors.guarding("PutTaskConfig", logger: self.logger) {
            try await self.store.put(record)
            return try await self.store.config(record.taskType) ?? record
        }
        self.cache.store(stored)
        // At once for the dispatcher, which then sends the type's tasks only
        // to workers that run its executor; the leader's copy follows within
        // seconds should this fail.
        do {
            try await self.broker.setLimits(TypeLimits(stored))
        } catch {
            self.logger.warning("limits not copied to Redis; the leader copies them", metadata: ["task_type": "\(record.taskType)", "error": "\(error)"])
        }
        // Other nodes drop their cached copy on this event (and within a few
        // seconds regardless, should it be lost).
        do {
            try await self.broker.publish([.configChanged(taskType: record.taskType)])
        } catch {
            self.logger.warning("config change not announced", metadata: ["task_type": "\(record.taskType)", "error": "\(error)"])
        }
        self.logger.info(
            "task type configured",
            metadata: [
                "task_type": "\(record.taskType)", "executor": "\(record.executor.rawValue)", "enabled": "\(record.enabled)",
                "by": "\(Caller.description)",
            ]
        )
        return Baton_V1_TaskConfig(stored)
    }

    public func getTaskConfig(_ request: Baton_V1_GetTaskConfigRequest) async throws -> Baton_V1_TaskConfig {
        try self.validateType(request.taskType)
        let config = try await RPCErrors.guarding("GetTaskConfig", logger: self.logger) {
            try await self.store.config(request.taskType)
        }
        guard let config else { throw RPCError(code: .notFound, message: "task type \(request.taskType) is not configured") }
        return Baton_V1_TaskConfig(config)
    }

    public func listTaskConfigs(_ request: Baton_V1_ListTaskConfigsRequest) async throws -> Baton_V1_ListTaskConfigsResponse {
        let configs = try await RPCErrors.guarding("ListTaskConfigs", logger: self.logger) { try await self.store.all() }
        return .with { $0.configs = configs.map(Baton_V1_TaskConfig.init) }
    }

    private func validateType(_ taskType: String) throws(RPCError) {
        guard self.validator.limits.isValidTaskType(taskType) else {
            throw RPCErrors.invalid("task_type must match \(self.validator.limits.taskTypeRule)")
        }
    }

    // MARK: pause, resume, delete

    public func pauseTaskType(_ request: Baton_V1_PauseTaskTypeRequest) async throws -> Baton_V1_TaskConfig {
        try await self.setPaused(request.taskType, true)
    }

    /// Dispatch goes on in the original order: parked entries go back to the
    /// front of their queues (they were there before anything queued since).
    public func resumeTaskType(_ request: Baton_V1_ResumeTaskTypeRequest) async throws -> Baton_V1_TaskConfig {
        try await self.setPaused(request.taskType, false)
    }

    private func setPaused(_ taskType: String, _ paused: Bool) async throws -> Baton_V1_TaskConfig {
        let operation = paused ? "PauseTaskType" : "ResumeTaskType"
        try self.validateType(taskType)
        let record = try await RPCErrors.guarding(operation, logger: self.logger) {
            try await self.store.setPaused(taskType, paused, now: Date().roundedToMicroseconds)
        }
        guard let record else { throw RPCError(code: .notFound, message: "task type \(taskType) is not configured") }
        // At once for the dispatcher. The leader converges anyway: it copies
        // MySQL to Redis every few seconds (never over a newer version) and
        // unparks every type MySQL says is not paused, so a failure here (or
        // this node's) only delays the resume.
        try await RPCErrors.guarding(operation, logger: self.logger) {
            try await self.broker.setLimits(TypeLimits(record))
            if !paused { try await self.broker.unpark(taskType) }
        }
        self.cache.store(record)
        try? await self.broker.publish([.configChanged(taskType: taskType)])
        self.logger.info(paused ? "task type paused" : "task type resumed", metadata: ["task_type": "\(taskType)", "by": "\(Caller.description)"])
        return Baton_V1_TaskConfig(record)
    }

    public func deleteTaskConfig(_ request: Baton_V1_DeleteTaskConfigRequest) async throws -> Baton_V1_DeleteTaskConfigResponse {
        try self.validateType(request.taskType)
        let naming = try await RPCErrors.guarding("DeleteTaskConfig", logger: self.logger) {
            try await self.schedules.scheduleIDs(taskType: request.taskType)
        }
        guard naming.isEmpty else {
            throw RPCError(
                code: .failedPrecondition,
                message: "task type \(request.taskType) is named by schedule(s) \(naming.joined(separator: ", ")); delete them or point them elsewhere first"
            )
        }
        let outcome = try await RPCErrors.guarding("DeleteTaskConfig", logger: self.logger) {
            try await self.store.delete(request.taskType)
        }
        switch outcome {
        case .notFound:
            throw RPCError(code: .notFound, message: "task type \(request.taskType) is not configured")
        case .hasUnfinishedTasks:
            throw RPCError(code: .failedPrecondition, message: "task type \(request.taskType) has unfinished tasks; cancel them or let them finish first")
        case .deleted:
            self.cache.invalidate(request.taskType)
            // Entries parked while it was paused belong to finished tasks by
            // now (none is unfinished): back on the queues, workers drop them.
            _ = try? await self.broker.unpark(request.taskType)
            try? await self.broker.forgetLimits(request.taskType)
            try? await self.broker.publish([.configChanged(taskType: request.taskType)])
            self.logger.info("task type deleted", metadata: ["task_type": "\(request.taskType)", "by": "\(Caller.description)"])
            return .init()
        }
    }
}

import BatonBroker
import BatonModel
import BatonProto
import BatonStore
import Foundation
import GRPCCore
import Logging

/// `baton.v1.AdminService`: task types configured through the API.
public struct AdminServiceHandler: Baton_V1_AdminService.SimpleServiceProtocol {
    let store: TaskConfigStore
    let cache: TaskConfigCache
    let broker: RedisBroker
    let validator: TaskConfigValidator
    let logger: Logger

    public init(store: TaskConfigStore, cache: TaskConfigCache, broker: RedisBroker, limits: ValidationLimits = ValidationLimits(), logger: Logger) {
        self.store = store
        self.cache = cache
        self.broker = broker
        self.validator = TaskConfigValidator(limits: limits)
        self.logger = logger
    }

    public func putTaskConfig(request: Baton_V1_PutTaskConfigRequest, context: ServerContext) async throws -> Baton_V1_TaskConfig {
        let record: TaskConfigRecord
        do {
            record = try self.validator.record(from: request.config, now: Date().roundedToMicroseconds)
        } catch {
            throw RPCErrors.invalid(error.message)
        }
        try await RPCErrors.guarding("PutTaskConfig", logger: self.logger) {
            try await self.store.put(record)
        }
        self.cache.store(record)
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
        return Baton_V1_TaskConfig(record)
    }

    public func getTaskConfig(request: Baton_V1_GetTaskConfigRequest, context: ServerContext) async throws -> Baton_V1_TaskConfig {
        guard self.validator.limits.isValidTaskType(request.taskType) else {
            throw RPCErrors.invalid("task_type must match \(self.validator.limits.taskTypeRule)")
        }
        let config = try await RPCErrors.guarding("GetTaskConfig", logger: self.logger) {
            try await self.store.config(request.taskType)
        }
        guard let config else { throw RPCError(code: .notFound, message: "task type \(request.taskType) is not configured") }
        return Baton_V1_TaskConfig(config)
    }

    public func listTaskConfigs(request: Baton_V1_ListTaskConfigsRequest, context: ServerContext) async throws -> Baton_V1_ListTaskConfigsResponse {
        let configs = try await RPCErrors.guarding("ListTaskConfigs", logger: self.logger) { try await self.store.all() }
        return .with { $0.configs = configs.map(Baton_V1_TaskConfig.init) }
    }
}

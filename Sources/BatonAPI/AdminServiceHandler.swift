import BatonBroker
import BatonModel
import BatonProto
import BatonStore
import GRPCCore
import Logging

/// `baton.v1.AdminService` over gRPC: each RPC is `AdminService`'s.
public struct AdminServiceHandler: Baton_V1_AdminService.SimpleServiceProtocol {
    public let service: AdminService

    public init(service: AdminService) {
        self.service = service
    }

    public func putTaskConfig(request: Baton_V1_PutTaskConfigRequest, context: ServerContext) async throws -> Baton_V1_TaskConfig {
        try await self.service.putTaskConfig(request)
    }

    public func getTaskConfig(request: Baton_V1_GetTaskConfigRequest, context: ServerContext) async throws -> Baton_V1_TaskConfig {
        try await self.service.getTaskConfig(request)
    }

    public func listTaskConfigs(request: Baton_V1_ListTaskConfigsRequest, context: ServerContext) async throws -> Baton_V1_ListTaskConfigsResponse {
        try await self.service.listTaskConfigs(request)
    }

    public func pauseTaskType(request: Baton_V1_PauseTaskTypeRequest, context: ServerContext) async throws -> Baton_V1_TaskConfig {
        try await self.service.pauseTaskType(request)
    }

    public func resumeTaskType(request: Baton_V1_ResumeTaskTypeRequest, context: ServerContext) async throws -> Baton_V1_TaskConfig {
        try await self.service.resumeTaskType(request)
    }

    public func deleteTaskConfig(request: Baton_V1_DeleteTaskConfigRequest, context: ServerContext) async throws -> Baton_V1_DeleteTaskConfigResponse {
        try await self.service.deleteTaskConfig(request)
    }

    // MARK: schedules (not yet: answered UNIMPLEMENTED)

    public func putSchedule(request: Baton_V1_PutScheduleRequest, context: ServerContext) async throws -> Baton_V1_Schedule {
        throw RPCErrors.unimplemented("PutSchedule")
    }

    public func getSchedule(request: Baton_V1_GetScheduleRequest, context: ServerContext) async throws -> Baton_V1_Schedule {
        throw RPCErrors.unimplemented("GetSchedule")
    }

    public func listSchedules(request: Baton_V1_ListSchedulesRequest, context: ServerContext) async throws -> Baton_V1_ListSchedulesResponse {
        throw RPCErrors.unimplemented("ListSchedules")
    }

    public func deleteSchedule(request: Baton_V1_DeleteScheduleRequest, context: ServerContext) async throws -> Baton_V1_DeleteScheduleResponse {
        throw RPCErrors.unimplemented("DeleteSchedule")
    }

    public func triggerSchedule(request: Baton_V1_TriggerScheduleRequest, context: ServerContext) async throws -> Baton_V1_CreateTaskResponse {
        throw RPCErrors.unimplemented("TriggerSchedule")
    }
}

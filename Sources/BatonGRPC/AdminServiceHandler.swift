import BatonProto
import BatonService
import GRPCCore

/// `baton.v1.AdminService` over gRPC: each RPC is `AdminService`'s.
public struct AdminServiceHandler: Baton_V1_AdminService.SimpleServiceProtocol {
    public let service: AdminService
    public let schedules: ScheduleService

    public init(service: AdminService, schedules: ScheduleService) {
        self.service = service
        self.schedules = schedules
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

    // MARK: schedules

    public func putSchedule(request: Baton_V1_PutScheduleRequest, context: ServerContext) async throws -> Baton_V1_Schedule {
        try await self.schedules.putSchedule(request)
    }

    public func getSchedule(request: Baton_V1_GetScheduleRequest, context: ServerContext) async throws -> Baton_V1_Schedule {
        try await self.schedules.getSchedule(request)
    }

    public func listSchedules(request: Baton_V1_ListSchedulesRequest, context: ServerContext) async throws -> Baton_V1_ListSchedulesResponse {
        try await self.schedules.listSchedules(request)
    }

    public func deleteSchedule(request: Baton_V1_DeleteScheduleRequest, context: ServerContext) async throws -> Baton_V1_DeleteScheduleResponse {
        try await self.schedules.deleteSchedule(request)
    }

    public func triggerSchedule(request: Baton_V1_TriggerScheduleRequest, context: ServerContext) async throws -> Baton_V1_CreateTaskResponse {
        try await self.schedules.triggerSchedule(request)
    }
}

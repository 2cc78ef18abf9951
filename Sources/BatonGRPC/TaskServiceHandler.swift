import BatonProto
import BatonService
import GRPCCore

/// `baton.v1.TaskService` over gRPC: each RPC is `TaskService`'s, as the
/// REST API's routes are.
public struct TaskServiceHandler: Baton_V1_TaskService.SimpleServiceProtocol {
    public let service: TaskService

    public init(service: TaskService) {
        self.service = service
    }

    /// A create that waits (`wait_seconds`) stops waiting when the client
    /// cancels the RPC or its deadline passes, as a watch ends (below).
    public func createTask(request: Baton_V1_CreateTaskRequest, context: ServerContext) async throws -> Baton_V1_CreateTaskResponse {
        guard request.waitSeconds > 0 else { return try await self.service.createTask(request) }
        let service = self.service
        let call = Task { try await service.createTask(request) }
        return try await withTaskCancellationHandler {
            try await withRPCCancellationHandler {
                try await call.value
            } onCancelRPC: {
                call.cancel()
            }
        } onCancel: {
            call.cancel()
        }
    }

    public func batchCreateTasks(
        request: Baton_V1_BatchCreateTasksRequest,
        context: ServerContext
    ) async throws -> Baton_V1_BatchCreateTasksResponse {
        try await self.service.batchCreateTasks(request)
    }

    public func getTask(request: Baton_V1_GetTaskRequest, context: ServerContext) async throws -> Baton_V1_GetTaskResponse {
        try await self.service.getTask(request)
    }

    public func listTasks(request: Baton_V1_ListTasksRequest, context: ServerContext) async throws -> Baton_V1_ListTasksResponse {
        try await self.service.listTasks(request)
    }

    public func getTaskLogs(request: Baton_V1_GetTaskLogsRequest, context: ServerContext) async throws -> Baton_V1_GetTaskLogsResponse {
        try await self.service.getTaskLogs(request)
    }

    public func cancelTask(request: Baton_V1_CancelTaskRequest, context: ServerContext) async throws -> Baton_V1_CancelTaskResponse {
        try await self.service.cancelTask(request)
    }

    public func retryTask(request: Baton_V1_RetryTaskRequest, context: ServerContext) async throws -> Baton_V1_RetryTaskResponse {
        try await self.service.retryTask(request)
    }

    public func bulkRetryTasks(request: Baton_V1_BulkTasksRequest, context: ServerContext) async throws -> Baton_V1_BulkTasksResponse {
        try await self.service.bulkRetryTasks(request)
    }

    public func bulkCancelTasks(request: Baton_V1_BulkTasksRequest, context: ServerContext) async throws -> Baton_V1_BulkTasksResponse {
        try await self.service.bulkCancelTasks(request)
    }

    public func getStats(request: Baton_V1_GetStatsRequest, context: ServerContext) async throws -> Baton_V1_GetStatsResponse {
        try await self.service.getStats(request)
    }

    /// The watch runs in a task of its own so that the client cancelling the
    /// RPC (which does not cancel the handler's task) cancels it.
    public func watchTask(
        request: Baton_V1_WatchTaskRequest,
        response: RPCWriter<Baton_V1_Task>,
        context: ServerContext
    ) async throws {
        let service = self.service
        // An unstructured task inherits the caller (a task local); it is
        // awaited here, so it never outlives the RPC.
        let watch = Task { try await service.watchTask(request) { try await response.write($0) } }
        try await withTaskCancellationHandler {
            try await withRPCCancellationHandler {
                try await watch.value
            } onCancelRPC: {
                watch.cancel()
            }
        } onCancel: {
            watch.cancel()
        }
    }
}

import BatonAuth
import BatonModel
import BatonProto
import BatonService
import Foundation
import GRPCCore
import Hummingbird
import Logging
import NIOCore
import Tracing

/// The REST/JSON API under `/api/v1` (docs/rest-api.md), on the same
/// services as gRPC: each route names the RPC whose authorization entry it
/// shares, so a role never differs between the two APIs.
public struct RESTRoutes: Sendable {
    let tasks: TaskService
    let admin: AdminService
    let schedules: ScheduleService
    let history: StatsHistory?
    let assets: @Sendable (String) -> StaticAsset?
    let guardian: RequestGuard
    let keepAlive: Duration
    /// Set when the node traces: a span per API request.
    let span: RouteSpan?

    public init(
        tasks: TaskService, admin: AdminService, schedules: ScheduleService, authenticator: Authenticator, history: StatsHistory?,
        assets: @escaping @Sendable (String) -> StaticAsset? = { _ in nil }, keepAlive: Duration = .seconds(15), tracer: (any Tracer)? = nil,
        logger: Logger
    ) {
        self.tasks = tasks
        self.admin = admin
        self.schedules = schedules
        self.history = history
        self.assets = assets
        self.guardian = RequestGuard(authenticator: authenticator, logger: logger)
        self.keepAlive = keepAlive
        self.span = tracer.map { RouteSpan(tracer: $0) }
    }

    static func access(_ rpc: String) -> Access {
        // Deny by default, as the interceptor does for a method not in its table.
        AccessTable.methods[rpc] ?? .role(.admin)
    }

    public func add(to router: Router<BasicRequestContext>) {
        let api = router.group("/api/v1")
        self.addTasks(api)
        self.addTaskTypes(api)
        self.addSchedules(api)
        self.addOperations(api)
        // Anything else under the API answers as the API does, not with an empty 404.
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] {
            api.on("**", method: method) { request, _ in
                Problem(status: 404, code: "NOT_FOUND", detail: "no route \(request.method) \(request.uri.path)").response
            }
        }
    }

    /// A route for one RPC: guarded, run as the caller.
    func route(
        _ group: RouterGroup<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: RouterPath, rpc: String,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        let operation = String(rpc.split(separator: "/").last ?? Substring(rpc))
        self.route(group, method, path, operation: operation, access: Self.access(rpc), handler)
    }

    func route(
        _ group: RouterGroup<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: RouterPath, operation: String, access: Access,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        let guardian = self.guardian
        let span = self.span
        let route = "/api/v1/" + path.description.drop { $0 == "/" }
        group.on(path, method: method) { request, context in
            let guarded = { await guardian.run(request, operation: operation, access: access) { try await handler(request, context) } }
            guard let span else { return await guarded() }
            return await span.run(request, route: route, guarded)
        }
    }

    // MARK: tasks

    private func addTasks(_ api: RouterGroup<BasicRequestContext>) {
        let tasks = self.tasks
        let service = "baton.v1.TaskService/"
        self.route(api, .post, "tasks", rpc: service + "CreateTask") { request, context in
            let created = try await tasks.createTask(ProtoJSON.decode(Baton_V1_CreateTaskRequest.self, from: request, context: context))
            return try ProtoJSON.response(created, status: created.deduplicated ? .ok : .created)
        }
        self.route(api, .post, "tasks/batch", rpc: service + "BatchCreateTasks") { request, context in
            try ProtoJSON.response(try await tasks.batchCreateTasks(ProtoJSON.decode(Baton_V1_BatchCreateTasksRequest.self, from: request, context: context)))
        }
        self.route(api, .get, "tasks", rpc: service + "ListTasks") { request, _ in
            let parameters = request.uri.queryParameters.map { (key: String($0.key), value: String($0.value)) }
            return try ProtoJSON.response(try await tasks.listTasks(ListTasksQuery.request(parameters)))
        }
        self.route(api, .get, "tasks/{taskId}", rpc: service + "GetTask") { _, context in
            try ProtoJSON.response(try await tasks.getTask(.with { $0.taskID = context.parameters.get("taskId") ?? "" }))
        }
        self.route(api, .get, "tasks/{taskId}/logs", rpc: service + "GetTaskLogs") { request, context in
            var logs = Baton_V1_GetTaskLogsRequest()
            logs.taskID = context.parameters.get("taskId") ?? ""
            var afterID: Int64?
            for (key, value) in request.uri.queryParameters {
                switch key {
                case "pageSize":
                    guard let size = Int32(value) else { throw Problem.invalid("pageSize must be a whole number") }
                    logs.pageSize = size
                case "pageToken": logs.pageToken = String(value)
                case "afterId":
                    guard let after = Int64(value), after >= 0 else { throw Problem.invalid("afterId must be a log line's id") }
                    afterID = after
                default: throw Problem.invalid("unknown query parameter \(key)")
                }
            }
            if let afterID {
                guard logs.pageToken.isEmpty else { throw Problem.invalid("give pageToken or afterId, not both") }
                logs.pageToken = TaskService.logsPageToken(taskID: logs.taskID, afterID: afterID)
            }
            return try ProtoJSON.response(try await tasks.getTaskLogs(logs))
        }
        self.route(api, .get, "tasks/{taskId}/events", rpc: service + "WatchTask") { _, context in
            let taskID = context.parameters.get("taskId") ?? ""
            // Bad ids and other tenants' tasks answer as GET does, before the stream starts.
            _ = try await tasks.getTask(.with { $0.taskID = taskID })
            return TaskEventStream(service: tasks, taskID: taskID, caller: Caller.current, keepAlive: self.keepAlive).response
        }
        self.route(api, .post, "tasks/{taskId}/cancel", rpc: service + "CancelTask") { request, context in
            var cancel = try await ProtoJSON.decode(Baton_V1_CancelTaskRequest.self, from: request, context: context)
            try Self.pathID(&cancel.taskID, context.parameters.get("taskId"))
            return try ProtoJSON.response(try await tasks.cancelTask(cancel))
        }
        self.route(api, .post, "tasks/{taskId}/retry", rpc: service + "RetryTask") { request, context in
            var retry = try await ProtoJSON.decode(Baton_V1_RetryTaskRequest.self, from: request, context: context)
            try Self.pathID(&retry.taskID, context.parameters.get("taskId"))
            return try ProtoJSON.response(try await tasks.retryTask(retry))
        }
        self.route(api, .post, "tasks/bulk-cancel", rpc: service + "BulkCancelTasks") { request, context in
            try ProtoJSON.response(try await tasks.bulkCancelTasks(ProtoJSON.decode(Baton_V1_BulkTasksRequest.self, from: request, context: context)))
        }
        self.route(api, .post, "tasks/bulk-retry", rpc: service + "BulkRetryTasks") { request, context in
            try ProtoJSON.response(try await tasks.bulkRetryTasks(ProtoJSON.decode(Baton_V1_BulkTasksRequest.self, from: request, context: context)))
        }
        self.route(api, .get, "stats", rpc: service + "GetStats") { _, _ in
            try ProtoJSON.response(try await tasks.getStats(.init()))
        }
    }

    /// The path names the resource; a body may repeat it, never contradict it.
    static func pathID(_ field: inout String, _ path: String?) throws {
        let path = path ?? ""
        guard field.isEmpty || field == path else { throw Problem.invalid("the body names \(field) but the path \(path)") }
        field = path
    }

    // MARK: task types

    private func addTaskTypes(_ api: RouterGroup<BasicRequestContext>) {
        let admin = self.admin
        let service = "baton.v1.AdminService/"
        self.route(api, .get, "task-types", rpc: service + "ListTaskConfigs") { _, _ in
            try ProtoJSON.response(try await admin.listTaskConfigs(.init()))
        }
        self.route(api, .get, "task-types/{taskType}", rpc: service + "GetTaskConfig") { _, context in
            try ProtoJSON.response(try await admin.getTaskConfig(.with { $0.taskType = context.parameters.get("taskType") ?? "" }))
        }
        self.route(api, .put, "task-types/{taskType}", rpc: service + "PutTaskConfig") { request, context in
            var config = try await ProtoJSON.decode(Baton_V1_TaskConfig.self, from: request, context: context)
            try Self.pathID(&config.taskType, context.parameters.get("taskType"))
            return try ProtoJSON.response(try await admin.putTaskConfig(.with { $0.config = config }))
        }
        self.route(api, .delete, "task-types/{taskType}", rpc: service + "DeleteTaskConfig") { _, context in
            try ProtoJSON.response(try await admin.deleteTaskConfig(.with { $0.taskType = context.parameters.get("taskType") ?? "" }))
        }
        self.route(api, .post, "task-types/{taskType}/pause", rpc: service + "PauseTaskType") { _, context in
            try ProtoJSON.response(try await admin.pauseTaskType(.with { $0.taskType = context.parameters.get("taskType") ?? "" }))
        }
        self.route(api, .post, "task-types/{taskType}/resume", rpc: service + "ResumeTaskType") { _, context in
            try ProtoJSON.response(try await admin.resumeTaskType(.with { $0.taskType = context.parameters.get("taskType") ?? "" }))
        }
    }
}

import BatonProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// A client of a Baton node: the original client's calls plus waiting for a
/// task over WatchTask. Holds one HTTP/2 connection; `run()` must be running
/// (see `withBatonClient`).
public struct BatonClient: Sendable {
    public let tasks: Baton_V1_TaskService.Client<HTTP2ClientTransport.Posix>
    public let admin: Baton_V1_AdminService.Client<HTTP2ClientTransport.Posix>
    public let health: Grpc_Health_V1_Health.Client<HTTP2ClientTransport.Posix>

    init(_ client: GRPCClient<HTTP2ClientTransport.Posix>) {
        self.tasks = Baton_V1_TaskService.Client(wrapping: client)
        self.admin = Baton_V1_AdminService.Client(wrapping: client)
        self.health = Grpc_Health_V1_Health.Client(wrapping: client)
    }

    public func createTask(
        type: String,
        payload: [String: String] = [:],
        priority: Baton_V1_Priority = .normal,
        idempotencyKey: String = ""
    ) async throws -> Baton_V1_Task {
        try await self.tasks.createTask(.with {
            $0.taskType = type
            $0.payload = payload
            $0.priority = priority
            $0.idempotencyKey = idempotencyKey
        }).task
    }

    public func batchCreate(_ requests: [Baton_V1_CreateTaskRequest]) async throws -> [Baton_V1_Task] {
        try await self.tasks.batchCreateTasks(.with { $0.tasks = requests }).tasks
    }

    public func getTask(_ id: String) async throws -> Baton_V1_Task {
        try await self.tasks.getTask(.with { $0.taskID = id }).task
    }

    public func cancelTask(_ id: String, reason: String = "") async throws -> Baton_V1_Task {
        try await self.tasks.cancelTask(.with {
            $0.taskID = id
            $0.reason = reason
        }).task
    }

    /// Every log line of the task, oldest first.
    public func logs(_ id: String) async throws -> [Baton_V1_TaskLog] {
        var lines: [Baton_V1_TaskLog] = []
        var token = ""
        repeat {
            let page = try await self.tasks.getTaskLogs(.with {
                $0.taskID = id
                $0.pageSize = 1000
                $0.pageToken = token
            })
            lines += page.logs
            token = page.nextPageToken
        } while !token.isEmpty
        return lines
    }

    public func stats() async throws -> Baton_V1_GetStatsResponse {
        try await self.tasks.getStats(.init())
    }

    /// Follows the task until it reaches a terminal state; `onChange` sees each state.
    public func watch(_ id: String, onChange: @escaping @Sendable (Baton_V1_Task) -> Void = { _ in }) async throws -> Baton_V1_Task {
        try await self.tasks.watchTask(.with { $0.taskID = id }) { response in
            var last: Baton_V1_Task?
            for try await task in response.messages {
                onChange(task)
                last = task
            }
            guard let last else { throw RPCError(code: .unavailable, message: "watch ended without a state") }
            return last
        }
    }

    /// The task once terminal, or a DEADLINE_EXCEEDED error after `timeout`.
    public func waitForTask(_ id: String, timeout: Duration) async throws -> Baton_V1_Task {
        try await withThrowingTaskGroup(of: Baton_V1_Task?.self) { group in
            group.addTask { try await self.watch(id) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let task = first else {
                throw RPCError(code: .deadlineExceeded, message: "task \(id) did not finish within \(timeout)")
            }
            return task
        }
    }
}

extension Baton_V1_TaskStatus {
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled, .timeout: true
        default: false
        }
    }
}

/// Connects to `host:port`, runs `body` with a client, and closes the connection.
/// With `apiKey`, every call carries `authorization: Bearer <key>`.
public func withBatonClient<T: Sendable>(
    host: String,
    port: Int,
    apiKey: String? = nil,
    tls: ClientTLS? = nil,
    _ body: @Sendable (BatonClient) async throws -> T
) async throws -> T {
    try await withGRPCClient(
        transport: .http2NIOPosix(target: .dns(host: host, port: port), transportSecurity: tls?.transportSecurity ?? .plaintext),
        interceptors: apiKey.map { [BearerTokenInterceptor(key: $0)] } ?? []
    ) { client in
        try await body(BatonClient(client))
    }
}

import GRPCCore

/// Checks `authorization: Bearer <key>` against the node's API keys: missing
/// or unknown → UNAUTHENTICATED, a role too low → PERMISSION_DENIED.
/// AdminService and bulk operations need admin; creating, cancelling and
/// retrying a task need submitter; reads need viewer; health and reflection
/// are open. A method named nowhere here needs admin (deny by default: a
/// new RPC is never open to viewers by oversight).
public struct AuthInterceptor: ServerInterceptor {
    private let keys: APIKeys

    public init(keys: APIKeys) {
        self.keys = keys
    }

    static func requiredRole(_ method: MethodDescriptor) -> Role? {
        switch method.service.fullyQualifiedService {
        case "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection":
            return nil
        case "baton.v1.AdminService":
            return .admin
        case "baton.v1.TaskService":
            switch method.method {
            case "GetTask", "ListTasks", "GetTaskLogs", "WatchTask", "GetStats": return .viewer
            case "CreateTask", "BatchCreateTasks", "CancelTask", "RetryTask": return .submitter
            default: return .admin
            }
        default:
            return .admin
        }
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let required = Self.requiredRole(context.descriptor) else {
            return try await next(request, context)
        }
        guard let header = request.metadata["authorization"].first(where: { _ in true }),
            case .string(let value) = header, value.hasPrefix("Bearer ")
        else {
            throw RPCError(code: .unauthenticated, message: "an API key is required (authorization: Bearer <key>)")
        }
        guard let entry = self.keys.entry(forKey: String(value.dropFirst("Bearer ".count))) else {
            throw RPCError(code: .unauthenticated, message: "unknown API key")
        }
        guard entry.role >= required else {
            throw RPCError(code: .permissionDenied, message: "\(context.descriptor.method) needs the \(required.rawValue) role")
        }
        return try await Caller.$keyID.withValue(entry.id) {
            try await next(request, context)
        }
    }
}

import BatonAuth
import GRPCCore

/// Checks `authorization: Bearer <key>` against the node's API keys: missing
/// or unknown → UNAUTHENTICATED, a role too low → PERMISSION_DENIED.
/// `AccessTable` names every RPC the node serves and who may call it; a
/// method not in it is refused for everyone.
public struct AuthInterceptor: ServerInterceptor {
    private let authenticator: Authenticator

    public init(authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    /// Keys only (no tokens); nil: the node runs open.
    public init(keys: APIKeys?) {
        self.init(authenticator: Authenticator(keys: keys))
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let required: Role
        switch AccessTable.methods[context.descriptor.fullyQualifiedMethod] {
        case .open?:
            return try await next(request, context)
        case .role(let role)?:
            required = role
        case nil:
            throw RPCError(code: .permissionDenied, message: "\(context.descriptor.fullyQualifiedMethod) is not in the authorization table")
        }
        var authorization: String?
        if case .string(let value)? = request.metadata["authorization"].first(where: { _ in true }) { authorization = value }
        let caller: Caller
        do {
            caller = try await self.authenticator.caller(authorization: authorization)
        } catch {
            throw RPCError(code: .unauthenticated, message: error.message)
        }
        guard caller.role >= required else {
            throw RPCError(code: .permissionDenied, message: "\(context.descriptor.method) needs the \(required.rawValue) role")
        }
        return try await Self.run(as: caller, request: request, context: context, next: next)
    }

    /// Runs the call as `caller`. A handler's response messages are produced
    /// after `next` returns (server streaming: WatchTask), outside a
    /// `withValue` scope around it: the producer is given the caller too.
    private static func run<Input: Sendable, Output: Sendable>(
        as caller: Caller,
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var response = try await Caller.$current.withValue(caller) {
            try await next(request, context)
        }
        if case .success(var contents) = response.accepted {
            let producer = contents.producer
            contents.producer = { writer in try await Caller.$current.withValue(caller) { try await producer(writer) } }
            response.accepted = .success(contents)
        }
        return response
    }
}

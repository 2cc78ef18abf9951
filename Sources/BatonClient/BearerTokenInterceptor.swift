import GRPCCore

/// Sends `authorization: Bearer <key>` with every call.
public struct BearerTokenInterceptor: ClientInterceptor {
    let key: String

    public init(key: String) {
        self.key = key
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.replaceOrAddString("Bearer \(self.key)", forKey: "authorization")
        return try await next(request, context)
    }
}

import GRPCCore

/// Sends `authorization: Bearer <key>` with every call.
struct BearerTokenInterceptor: ClientInterceptor {
    let key: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.replaceOrAddString("Bearer \(self.key)", forKey: "authorization")
        return try await next(request, context)
    }
}

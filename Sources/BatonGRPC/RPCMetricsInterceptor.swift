import BatonModel
import GRPCCore
import Metrics

/// Counts RPCs by method and status code and times them (until the response
/// head for streaming calls).
public struct RPCMetricsInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor.fullyQualifiedMethod
        let started = ContinuousClock.now
        let code: String
        defer {
            let elapsed = ContinuousClock.now - started
            Counter(label: "baton_rpc_total", dimensions: [("method", method), ("code", code)]).increment()
            Metrics.Timer(label: "baton_rpc_duration_seconds", dimensions: [("method", method)]).recordNanoseconds(elapsed.wholeNanoseconds)
        }
        do {
            let response = try await next(request, context)
            switch response.accepted {
            case .success: code = "ok"
            case .failure(let error): code = "\(error.code)"
            }
            return response
        } catch let error as RPCError {
            code = "\(error.code)"
            throw error
        } catch {
            code = "unknown"
            throw error
        }
    }
}

import BatonTracing
import GRPCCore
import Tracing

/// A server span per RPC, named by its method (`baton.v1.TaskService/CreateTask`),
/// the child of the client's span when its metadata carries a W3C
/// `traceparent`. The handler runs in the span's context, so what it stores
/// (CreateTask: the task's `traceparent`) names this span. Installed only
/// when the node traces (`--otel-endpoint`). Health checks and reflection
/// make none: a load balancer's probes would bury the API's calls.
public struct TracingInterceptor: ServerInterceptor {
    let tracer: any Tracer

    public init(tracer: any Tracer) {
        self.tracer = tracer
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard context.descriptor.service.fullyQualifiedService.hasPrefix("baton.") else { return try await next(request, context) }
        var traceparent: String?
        for value in request.metadata[stringValues: TraceParent.key] {
            traceparent = value
            break
        }
        let parent = TraceParent.context(traceparent, tracer: self.tracer)
        // A unary handler runs inside `next`; a stream's span ends at its response head.
        return try await self.tracer.withSpan(context.descriptor.fullyQualifiedMethod, context: parent, ofKind: .server) { span in
            span.attributes["rpc.system"] = "grpc"
            let response = try await next(request, context)
            if case .failure(let error) = response.accepted {
                span.attributes["rpc.grpc.status_code"] = Int64(error.code.rawValue)
                span.setStatus(SpanStatus(code: .error, message: error.message))
            }
            return response
        }
    }
}

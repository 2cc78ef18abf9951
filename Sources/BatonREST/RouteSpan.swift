import BatonTracing
import Hummingbird
import Tracing

/// A server span per REST request (`POST /api/v1/tasks`), the child of the
/// client's span when it sends a W3C `traceparent` header; the route runs
/// in its context, as a gRPC call does under `TracingInterceptor`. Only
/// when the node traces.
struct RouteSpan: Sendable {
    let tracer: any Tracer

    func run(_ request: Request, route: String, _ body: () async -> Response) async -> Response {
        let parent = TraceParent.context(request.headers[.init(TraceParent.key)!], tracer: self.tracer)
        return await self.tracer.withSpan("\(request.method) \(route)", context: parent, ofKind: .server) { span in
            span.attributes["http.request.method"] = request.method.rawValue
            span.attributes["http.route"] = route
            let response = await body()
            span.attributes["http.response.status_code"] = Int64(response.status.code)
            if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            return response
        }
    }
}

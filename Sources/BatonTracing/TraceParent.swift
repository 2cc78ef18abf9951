import Tracing

/// W3C trace context as Baton carries it: the `traceparent` value a client
/// sent (gRPC metadata, HTTP header), the one stored with a task, the one an
/// executor gets. The tracer's propagator reads and writes it, so Baton
/// parses no trace ids itself; without a tracer (tracing off) none is read
/// or made.
public enum TraceParent {
    /// The header, metadata key and field name.
    public static let key = "traceparent"

    /// A context whose spans continue `traceparent` (top level when it is
    /// nil or the propagator does not take it).
    public static func context(_ traceparent: String?, tracer: any Tracer) -> InstrumentationContext {
        var context = InstrumentationContext.topLevel
        if let traceparent, !traceparent.isEmpty {
            tracer.extract([Self.key: traceparent], into: &context, using: HeaderMap())
        }
        return context
    }

    /// The `traceparent` naming a span of `context` (nil when it holds none).
    public static func of(_ context: InstrumentationContext, tracer: any Tracer) -> String? {
        var headers: [String: String] = [:]
        tracer.inject(context, into: &headers, using: HeaderMap())
        return headers[Self.key]
    }
}

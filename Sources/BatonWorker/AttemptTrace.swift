import BatonModel
import BatonTracing
import Tracing

/// The span of one attempt (tracing on): a child of the API span that
/// created the task (its stored `traceparent`; a root span for a task
/// created without one, by a schedule say), with the task's id, type and
/// attempt. Its own `traceparent` goes to the executor (an HTTP header,
/// gRPC metadata and `ExecuteRequest.traceparent`), so the service's spans
/// are its children.
struct AttemptTrace: Sendable {
    let span: any Span
    let traceparent: String?

    init(_ task: TaskRecord, workerID: String, tracer: any Tracer) {
        let span = tracer.startSpan("attempt \(task.taskType)", context: TraceParent.context(task.traceparent, tracer: tracer), ofKind: .consumer)
        span.attributes["baton.task.id"] = task.taskID
        span.attributes["baton.task.type"] = task.taskType
        span.attributes["baton.task.attempt"] = Int64(task.attempt)
        span.attributes["baton.worker.id"] = workerID
        self.span = span
        self.traceparent = TraceParent.of(span.context, tracer: tracer)
    }

    /// Ends the span; an attempt that did not succeed is an error, with why.
    func end(failure: String?) {
        if let failure { self.span.setStatus(SpanStatus(code: .error, message: failure)) }
        self.span.end()
    }
}

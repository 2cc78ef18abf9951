import Logging
import OTel
import ServiceLifecycle
import Tracing

/// The node's tracer and the service that exports its spans (swift-otel:
/// batches over OTLP/HTTP with protobuf). The tracer is handed to the parts
/// that make spans, never bootstrapped process-wide: nodes in one process
/// (tests, benchmarks) each trace or not, and a node that does not holds
/// nil, so its hot paths test one optional and build nothing.
struct NodeTracing {
    let tracer: any Tracer
    let service: any Service

    /// The OTEL_* environment variables (`OTEL_TRACES_SAMPLER`, …) apply on top.
    init(settings: TracingSettings, nodeID: String, logger: Logger) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.resourceAttributes = ["service.instance.id": nodeID]
        configuration.diagnosticLogger = .custom(logger)
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = settings.tracesURL
        configuration.traces.batchSpanProcessor.scheduleDelay = settings.exportDelay
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        self.tracer = backend.factory
        self.service = backend.service
    }
}

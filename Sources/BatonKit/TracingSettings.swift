/// Where a node sends its spans (`--otel-endpoint`); a node without them
/// traces nothing and carries no trace context.
public struct TracingSettings: Sendable {
    /// The OTLP/HTTP receiver (a collector's `http://host:4318`); spans go to
    /// `/v1/traces` under it, or to the URL as given when it names a path.
    public var endpoint: String
    /// `service.name` of the spans.
    public var serviceName = "baton"
    /// How long finished spans wait to be sent in one batch (tests shorten it).
    public var exportDelay: Duration = .seconds(5)

    public init(endpoint: String) {
        self.endpoint = endpoint
    }

    /// The URL the exporter posts to.
    var tracesURL: String {
        let base = self.endpoint.hasSuffix("/") ? String(self.endpoint.dropLast()) : self.endpoint
        // scheme://host[:port] has two slashes; a third starts a path of the operator's.
        return base.filter { $0 == "/" }.count > 2 ? base : base + "/v1/traces"
    }
}

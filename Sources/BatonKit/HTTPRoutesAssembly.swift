import BatonAuth
import BatonHTTP
import BatonREST
import BatonService
import BatonWeb
import Hummingbird
import Logging
import Tracing

/// The node's HTTP port: /health, /ready and /metrics on every node (load
/// balancers and Prometheus reach each one whatever its roles), and with
/// the api role REST and the dashboard on the same services gRPC uses.
enum HTTPRoutesAssembly {
    static func router(
        probe: HealthProbe, metricsText: @escaping @Sendable () -> String, api: APIAssembly?, authenticator: Authenticator, history: StatsHistory?,
        tracer: (any Tracer)?, logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        SimpleRoutes.add(
            [
                "/health": { _ in .init(body: "ok\n") },
                "/ready": { _ in
                    probe.serving ? .init(body: "ready\n") : .init(status: .serviceUnavailable, body: "MySQL or Redis unreachable\n")
                },
                "/metrics": { _ in .init(contentType: "text/plain; version=0.0.4", body: metricsText()) },
            ],
            to: router
        )
        guard let api else { return router }
        // The dashboard and the OpenAPI document, embedded at build time (scripts/embed-web.py).
        let assets: @Sendable (String) -> StaticAsset? = { name in
            EmbeddedAssets.files[name].map { StaticAsset(contentType: $0.contentType, body: $0.body, etag: $0.etag) }
        }
        RESTRoutes(
            tasks: api.tasks, admin: api.admin, schedules: api.schedules, authenticator: authenticator, history: history, assets: assets, tracer: tracer,
            logger: logger
        ).add(to: router)
        StaticFiles.add(to: router, assets: assets)
        return router
    }
}

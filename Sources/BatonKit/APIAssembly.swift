import BatonAuth
import BatonBroker
import BatonGRPC
import BatonModel
import BatonService
import BatonStore
import GRPCCore
import Logging
import Tracing

/// The client APIs' one service layer (tasks, admin, schedules) and the
/// gRPC server on it; REST and the dashboard use the same services
/// (`HTTPAssembly`). The node and the API test harness build them here.
public struct APIAssembly: Sendable {
    /// Where the gRPC server listens and how it is guarded.
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port (`APIServer.listeningPort()`).
        public var port = 9090
        public var tls: ServerTLS?
        public var limits = GRPCLimits()
        public var healthMaxWatchers = 10_000

        public init() {}
    }

    public let tasks: TaskService
    public let admin: AdminService
    public let schedules: ScheduleService
    public let server: APIServer

    /// `stores` are the API pool's; `probe` answers health checks;
    /// `watchFallback` is how often a watch re-reads its task when no event
    /// came (tests shorten it).
    public init(
        nodeID: String, stores: APIStores, broker: RedisBroker, hub: EventHub, probe: HealthProbe, authenticator: Authenticator,
        limits: ValidationLimits, watchLimits: WatchLimits, server: Server, watchFallback: Duration = .seconds(10), tracer: (any Tracer)? = nil, logger: Logger
    ) throws {
        self.tasks = TaskService(
            nodeID: nodeID, tasks: stores.tasks, configs: stores.configCache, broker: broker, hub: hub, limits: limits, watchLimits: watchLimits,
            logger: logger, watchFallback: watchFallback, tracer: tracer
        )
        self.admin = AdminService(
            store: stores.configs, schedules: stores.schedules, cache: stores.configCache, broker: broker, limits: limits, logger: logger
        )
        self.schedules = ScheduleService(store: stores.schedules, configs: stores.configCache, broker: broker, limits: limits, logger: logger)
        self.server = APIServer(
            host: server.host,
            port: server.port,
            services: [
                TaskServiceHandler(service: self.tasks),
                AdminServiceHandler(service: self.admin, schedules: self.schedules),
                HealthService(probe: probe, maxWatchers: server.healthMaxWatchers),
                try ReflectionService(services: ["baton.v1.TaskService", "baton.v1.AdminService", "grpc.health.v1.Health"]),
            ],
            // The span outermost: a refused call is traced too.
            interceptors: (tracer.map { [TracingInterceptor(tracer: $0)] } ?? []) + [RPCMetricsInterceptor(), AuthInterceptor(authenticator: authenticator)],
            tls: server.tls,
            limits: server.limits,
            logger: logger
        )
    }
}

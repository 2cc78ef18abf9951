import BatonAuth
import BatonGRPC
import BatonHTTP
import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonService
import BatonStore
import BatonWorker
import Foundation
import Logging
import ServiceLifecycle
import Tracing

/// A node's parts wired together and run as one service group: the one
/// assembly `baton-node`, the end-to-end tests, the benchmarks and users'
/// own worker packages start. Services stop in reverse order: HTTP and API
/// first, then the worker (drains), the leader's loops, the elector
/// (releases the lock), the event stream, and the node id's claim last.
public struct Node: Sendable {
    public let settings: NodeSettings
    /// The handlers and executors this node's worker runs tasks with.
    public let registry: ExecutorRegistry
    /// The gRPC server, when the node has the api role (its port: `listeningPort()`).
    public let apiServer: APIServer?
    /// The HTTP port's server (REST, dashboard, /metrics; its port: `listeningPort()`).
    public let httpServer: HTTPServer
    private let group: ServiceGroup
    private let clients: NodeClients
    private let worker: WorkerAssembly?

    /// Opens the pools, waits for MySQL and Redis (nodes may start before
    /// them), migrates, syncs the cluster clock and claims the node id; the
    /// node serves nothing until `run()`.
    /// - Parameters:
    ///   - registry: the local handlers to run (`registry.register`); its
    ///     HTTP and gRPC executors are set here.
    ///   - authenticator: who may call the APIs (open when it has no keys).
    ///   - services: more services of the caller's, started before the
    ///     node's own and stopped after them (a credential reloader, say).
    ///   - metricsText: the body of `GET /metrics`.
    ///   - clock: the cluster clock (Redis's time), synced here before
    ///     anything is written; the authenticator checks tokens' times on it.
    public static func start(
        settings: NodeSettings, registry: ExecutorRegistry = ExecutorRegistry(), authenticator: Authenticator = Authenticator(keys: nil),
        services extra: [any Service] = [], metricsText: @escaping @Sendable () -> String = { "" }, clock: ClusterClock = ClusterClock(),
        logger: Logger
    ) async throws -> Node {
        let clients = NodeClients(settings: settings, logger: logger)
        do {
            return try await Self.assemble(
                settings: settings, clients: clients, registry: registry, authenticator: authenticator, extra: extra, metricsText: metricsText,
                clock: clock, logger: logger
            )
        } catch {
            await clients.shutdown()
            throw error
        }
    }

    private static func assemble(
        settings: NodeSettings, clients: NodeClients, registry: ExecutorRegistry, authenticator: Authenticator, extra: [any Service],
        metricsText: @escaping @Sendable () -> String, clock: ClusterClock, logger: Logger
    ) async throws -> Node {
        let roles = settings.roles
        logger.info("starting", metadata: ["mysql": "\(settings.mysql.redacted)", "redis": "\(settings.redis.redacted)"])
        let ready = try await NodeStartup.prepare(settings: settings, clients: clients, clock: clock, logger: logger)
        let broker = ready.broker
        let tracing = try settings.tracing.map { try NodeTracing(settings: $0, nodeID: settings.nodeID, logger: logger) }
        let tracer = tracing?.tracer
        let hub = EventHub()
        let tasks = TaskStore(mysql: clients.mysql)
        let configs = TaskConfigStore(mysql: clients.mysql)
        let configCache = TaskConfigCache(store: configs)
        let apiStores = APIStores(mysql: clients.apiMySQL)
        let worker = roles.contains(.worker)
            ? Self.worker(settings: settings, broker: broker, tasks: tasks, configs: configCache, registry: registry, tracer: tracer, logger: logger)
            : nil
        // Both stores answered just above: serving until the first probe says otherwise.
        let probe = HealthProbe(
            tasks: TaskStore(mysql: clients.mysql), broker: broker, interval: settings.healthProbeInterval, timeout: settings.healthProbeTimeout, initiallyServing: true,
            logger: logger
        )
        let api = roles.contains(.api)
            ? try Self.api(
                settings: settings, stores: apiStores, broker: ready.apiBroker, hub: hub, probe: probe, authenticator: authenticator, tracer: tracer,
                logger: logger
            )
            : nil
        let history = api.map { _ in
            StatsHistory(nodeID: settings.nodeID, tasks: apiStores.tasks, broker: ready.apiBroker, startLatency: worker?.worker.startLatency, logger: logger)
        }
        let router = HTTPRoutesAssembly.router(
            probe: probe, metricsText: metricsText, api: api, authenticator: authenticator, history: history, tracer: tracer,
            logger: logger
        )
        let http = HTTPServer(host: settings.host, port: settings.httpPort, router: router, limits: settings.httpLimits, logger: logger)

        // Listed in start order; a graceful stop goes in reverse, so the id is
        // released last, after the worker deregistered.
        // The exporter first, so that it stops last and sends the final spans.
        var services: [any Service] = (tracing.map { [$0.service] } ?? []) + [
            ready.presence,
            ClusterClockSync(clock: broker.clock, redis: clients.redis, logger: logger),
            EventStreamReader(broker: broker, hub: hub, logger: logger),
            ConfigInvalidation(hub: hub, cache: configCache),
            ConfigInvalidation(hub: hub, cache: apiStores.configCache),
        ]
        services += extra
        if roles.contains(.scheduler) {
            services += Self.leader(
                settings: settings, clients: clients, broker: broker, tasks: tasks, configs: configs, configCache: configCache, tracer: tracer,
                logger: logger
            )
        }
        services += [ClusterGauges(broker: broker, tasks: tasks, interval: .seconds(5), logger: logger), probe]
        if let history { services.append(history) }
        if let worker { services += worker.services }
        if let api { services.append(api.server) }
        services.append(http)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info("node ready", metadata: [
            "roles": "\(roles)", "grpc_port": "\(roles.contains(.api) ? String(settings.grpcPort) : "none")", "http_port": "\(settings.httpPort)",
            "worker": "\(worker?.worker.configuration.workerID ?? "none")",
        ])
        return Node(settings: settings, registry: registry, apiServer: api?.server, httpServer: http, group: group, clients: clients, worker: worker)
    }

    /// The worker role: the worker, its executors and their egress guard
    /// (every worker enforces the allow-list itself, on the address it connects to).
    private static func worker(
        settings: NodeSettings, broker: RedisBroker, tasks: TaskStore, configs: TaskConfigCache, registry: ExecutorRegistry, tracer: (any Tracer)?,
        logger: Logger
    ) -> WorkerAssembly {
        logger.info("executor allow-list", metadata: [
            "entries": "\(settings.limits.executorAllowList.entries?.count.description ?? "any address but link-local and metadata")",
            "ca": "\(settings.executorCAFile ?? "system roots")",
        ])
        return WorkerAssembly(
            configuration: settings.worker, broker: broker, tasks: tasks, configs: configs, registry: registry,
            egress: EgressGuard(allowList: settings.limits.executorAllowList), trustRootsFile: settings.executorCAFile, tracer: tracer, logger: logger
        )
    }

    /// The api role: the gRPC server and the service layer under it and REST.
    private static func api(
        settings: NodeSettings, stores: APIStores, broker: RedisBroker, hub: EventHub, probe: HealthProbe, authenticator: Authenticator,
        tracer: (any Tracer)?, logger: Logger
    ) throws -> APIAssembly {
        var server = APIAssembly.Server()
        server.host = settings.host
        server.port = settings.grpcPort
        server.tls = settings.tls
        server.limits = settings.grpcLimits
        server.healthMaxWatchers = settings.healthMaxWatchers
        let limits = settings.grpcLimits
        logger.info("gRPC limits", metadata: [
            "max_connections": "\(limits.maxConnections.map(String.init) ?? "none")", "max_streams": "\(limits.maxConcurrentStreams)",
            "handshake_timeout": "\(limits.handshakeTimeout)", "idle_timeout": "\(limits.idleTimeout)",
        ])
        return try APIAssembly(
            nodeID: settings.nodeID, stores: stores, broker: broker, hub: hub, probe: probe, authenticator: authenticator,
            limits: settings.limits, watchLimits: settings.watchLimits, server: server, tracer: tracer, logger: logger
        )
    }

    /// The scheduler role: the elector and the loops it runs while this node leads.
    private static func leader(
        settings: NodeSettings, clients: NodeClients, broker: RedisBroker, tasks: TaskStore, configs: TaskConfigStore, configCache: TaskConfigCache,
        tracer: (any Tracer)?, logger: Logger
    ) -> [any Service] {
        let leader = LeaderState()
        let loops = LeaderLoops(
            broker: broker, tasks: tasks, configs: configs, configCache: configCache, schedules: ScheduleStore(mysql: clients.mysql),
            configuration: settings.leaderLoops, tracer: tracer, logger: logger
        )
        return [
            Elector(
                broker: broker, epochs: LeaderEpochStore(mysql: clients.mysql), nodeID: settings.nodeID, state: leader,
                configuration: settings.election, logger: logger
            ),
            LeaderServices(state: leader, loops: loops.all, logger: logger),
        ]
    }

    /// Runs until SIGTERM or SIGINT (graceful) or a service fails, then closes the pools.
    public func run() async throws {
        do {
            try await self.group.run()
        } catch {
            // A service that failed (a port in use, say) still leaves the
            // clients to close: the HTTP client traps if dropped while open.
            await self.close()
            throw error
        }
        await self.close()
    }

    /// Stops the node as SIGTERM would.
    public func stop() async {
        await self.group.triggerGracefulShutdown()
    }

    private func close() async {
        await self.worker?.shutdown()
        await self.clients.shutdown()
    }
}

import BatonAPI
import BatonHTTP
import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonStore
import BatonWorker
import Foundation
import Logging
import ServiceLifecycle

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
        try await StartupWait.until("MySQL", logger: logger) { try await clients.mysql.execute("SELECT 1") }
        try await StartupWait.until("Redis", logger: logger) { try await clients.redis.send("PING") }
        let migrator = try MySQLMigrator(directory: settings.migrations, logger: logger)
        try await StartupWait.until("migrations", logger: logger) { try await migrator.migrate(clients.mysql) }

        // One clock for the cluster's decisions (and tokens' times): Redis's,
        // read before anything is written or served.
        let keys = RedisKeys(namespace: settings.namespace)
        let broker = RedisBroker(redis: clients.redis, control: clients.control, keys: keys, clock: clock)
        try await StartupWait.until("Redis TIME", logger: logger) { try await broker.clock.sync(clients.redis) }
        let apiBroker = RedisBroker(redis: clients.apiRedis, keys: keys, clock: broker.clock)
        try await Self.checkEviction(broker: broker, allowed: settings.allowEvictingRedis, logger: logger)
        // The id before anything registers under it: a second live node with
        // this id is refused here, before its worker would take over the first's.
        let presence = NodePresence(
            broker: broker, nodeID: settings.nodeID, incarnation: .current(), ttl: settings.heartbeatTTL, interval: settings.heartbeatInterval,
            logger: logger
        )
        try await StartupWait.until("the node id", logger: logger) { try await presence.claim() }

        let hub = EventHub()
        let tasks = TaskStore(mysql: clients.mysql)
        let configs = TaskConfigStore(mysql: clients.mysql)
        let configCache = TaskConfigCache(store: configs)
        let apiStores = APIStores(mysql: clients.apiMySQL)
        // Every worker enforces the allow-list itself, on the address it connects to.
        let egress = EgressGuard(allowList: settings.limits.executorAllowList)
        let worker = roles.contains(.worker)
            ? WorkerAssembly(
                configuration: settings.worker, broker: broker, tasks: tasks, configs: configCache, registry: registry, egress: egress,
                trustRootsFile: settings.executorCAFile, logger: logger
            )
            : nil
        if worker != nil {
            logger.info("executor allow-list", metadata: [
                "entries": "\(settings.limits.executorAllowList.entries?.count.description ?? "any address but link-local and metadata")",
                "ca": "\(settings.executorCAFile ?? "system roots")",
            ])
        }
        // Both stores answered just above: serving until the first probe says otherwise.
        let probe = HealthProbe(
            mysql: clients.mysql, broker: broker, interval: settings.healthProbeInterval, timeout: settings.healthProbeTimeout, initiallyServing: true,
            logger: logger
        )
        var api: APIAssembly?
        var history: StatsHistory?
        if roles.contains(.api) {
            var server = APIAssembly.Server()
            server.host = settings.host
            server.port = settings.grpcPort
            server.tls = settings.tls
            server.limits = settings.grpcLimits
            server.healthMaxWatchers = settings.healthMaxWatchers
            api = try APIAssembly(
                nodeID: settings.nodeID, stores: apiStores, broker: apiBroker, hub: hub, probe: probe, authenticator: authenticator,
                limits: settings.limits, watchLimits: settings.watchLimits, server: server, logger: logger
            )
            history = StatsHistory(
                nodeID: settings.nodeID, tasks: apiStores.tasks, broker: apiBroker, startLatency: worker?.worker.startLatency, logger: logger
            )
            let limits = settings.grpcLimits
            logger.info("gRPC limits", metadata: [
                "max_connections": "\(limits.maxConnections.map(String.init) ?? "none")", "max_streams": "\(limits.maxConcurrentStreams)",
                "handshake_timeout": "\(limits.handshakeTimeout)", "idle_timeout": "\(limits.idleTimeout)",
            ])
        }
        let router = HTTPRoutesAssembly.router(
            probe: probe, metricsText: metricsText, api: api, authenticator: authenticator, history: history, logger: logger
        )
        let http = HTTPServer(host: settings.host, port: settings.httpPort, router: router, limits: settings.httpLimits, logger: logger)

        // Listed in start order; a graceful stop goes in reverse, so the id is
        // released last, after the worker deregistered.
        var services: [any Service] = [
            presence,
            ClusterClockSync(clock: broker.clock, redis: clients.redis, logger: logger),
            EventStreamReader(broker: broker, hub: hub, logger: logger),
            ConfigInvalidation(hub: hub, cache: configCache),
            ConfigInvalidation(hub: hub, cache: apiStores.configCache),
        ]
        services += extra
        if roles.contains(.scheduler) {
            let leader = LeaderState()
            let loops = LeaderLoops(
                broker: broker, tasks: tasks, configs: configs, configCache: configCache, schedules: ScheduleStore(mysql: clients.mysql),
                configuration: settings.leaderLoops, logger: logger
            )
            services += [
                Elector(
                    broker: broker, epochs: LeaderEpochStore(mysql: clients.mysql), nodeID: settings.nodeID, state: leader,
                    configuration: settings.election, logger: logger
                ),
                LeaderServices(state: leader, loops: loops.all, logger: logger),
            ]
        }
        services += [ClusterGauges(broker: broker, interval: .seconds(5)), probe]
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
        return Node(settings: settings, registry: registry, apiServer: api?.server, group: group, clients: clients, worker: worker)
    }

    /// Queues, in-flight lists and the leader lock must never be evicted.
    private static func checkEviction(broker: RedisBroker, allowed: Bool, logger: Logger) async throws {
        switch await broker.evictionPolicy() {
        case "noeviction": break
        case nil: logger.warning("could not read Redis maxmemory-policy (CONFIG not allowed?); it must be noeviction")
        case let policy?:
            guard allowed else {
                throw NodeStartError(
                    "Redis maxmemory-policy is \(policy): under memory pressure it would silently evict queued tasks; set maxmemory-policy noeviction (or pass --allow-evicting-redis)"
                )
            }
            logger.warning(
                "Redis evicts keys under memory pressure (--allow-evicting-redis): queued tasks may vanish until the reconciler restores them",
                metadata: ["policy": "\(policy)"]
            )
        }
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

import ArgumentParser
import BatonAPI
import BatonBroker
import BatonConfig
import BatonHTTP
import BatonModel
import BatonMySQL
import BatonREST
import BatonRedis
import BatonScheduler
import BatonStore
import BatonWeb
import BatonWorker
import Foundation
import Hummingbird
import GRPCCore
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// A node's parts wired together, run as one service group. Services stop
/// in reverse order: HTTP and API first, then the worker (drains), leader
/// loops, the elector (releases the lock), and the event stream last.
struct Node {
    let group: ServiceGroup
    /// Every pool the node opened (the cluster's own, the API's, the control one).
    let clients: [any ShutdownClient]
    let httpExecutor: HTTPExecutor

    static func start(options: NodeOptions, configuration: EffectiveConfiguration, metrics: PrometheusCollectorRegistry, logger: Logger) async throws -> Node {
        // One clock for the cluster's decisions (and tokens' times): Redis's,
        // synced below before anything is written or served.
        let clock = ClusterClock()
        let nodeID = options.nodeID
        let roles = try options.nodeRoles
        // Keys and tokens first: a bad file stops the node before it opens anything.
        let authenticator = try await Self.authenticator(options: options, clock: clock, logger: logger)
        // Trapped now, before anything serves: a SIGHUP reloads keys, never kills the node.
        let reloader = CredentialReloader(
            authenticator: authenticator, options: options, clock: clock, hangups: await UnixSignalsSequence(trapping: .sighup), interval: .seconds(2),
            logger: logger
        )
        var mysqlConfiguration: MySQLConfiguration
        var redisConfiguration: RedisConfiguration
        do {
            mysqlConfiguration = try MySQLConfiguration(url: options.mysqlURL)
            redisConfiguration = try RedisConfiguration(url: options.redisURL)
            // Secrets may live in files (mounted secrets) rather than URLs.
            if let path = options.mysqlPasswordFile { mysqlConfiguration.password = try Self.secret(path) }
            if let path = options.redisPasswordFile { redisConfiguration.password = try Self.secret(path) }
        } catch {
            throw ValidationError("\(error)")
        }
        // Command lines are readable by every user of the machine (`ps`).
        if configuration.origin(of: "mysql") == .commandLine, options.mysqlPasswordFile == nil, (try? MySQLConfiguration(url: options.mysqlURL))?.password.isEmpty == false {
            logger.warning("the --mysql URL carries a password, which `ps` shows to every user here: use $MYSQL_DSN or --mysql-password-file")
        }
        if configuration.origin(of: "redis") == .commandLine, options.redisPasswordFile == nil, Self.carriesPassword(options.redisURL) {
            logger.warning("the --redis URL carries a password, which `ps` shows to every user here: use $REDIS_ADDR or --redis-password-file")
        }
        // Client calls get pools of their own, with an acquire timeout: a
        // flood of them answers UNAVAILABLE and never takes a connection
        // from the workers' outcome writes or the leader's loops, and
        // heartbeats and the leader lock have a small pool nothing else uses.
        let mysql = MySQLClient(configuration: mysqlConfiguration, logger: logger)
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        var apiMySQLConfiguration = mysqlConfiguration
        apiMySQLConfiguration.maxConnections = options.apiMySQLConnections
        apiMySQLConfiguration.acquireTimeout = .milliseconds(options.poolAcquireTimeoutMs)
        let apiMySQL = MySQLClient(configuration: apiMySQLConfiguration, logger: logger)
        var apiRedisConfiguration = redisConfiguration
        apiRedisConfiguration.maxConnections = options.apiRedisConnections
        apiRedisConfiguration.acquireTimeout = .milliseconds(options.poolAcquireTimeoutMs)
        let apiRedis = RedisClient(configuration: apiRedisConfiguration, logger: logger)
        var controlConfiguration = redisConfiguration
        controlConfiguration.maxConnections = 2
        let control = RedisClient(configuration: controlConfiguration, logger: logger)
        let clients: [any ShutdownClient] = [mysql, redis, apiMySQL, apiRedis, control]
        logger.info("starting", metadata: ["mysql": "\(mysqlConfiguration.redacted)", "redis": "\(redisConfiguration.redacted)"])

        // Wait for the stores rather than crash: nodes may start before them.
        try await Self.waitFor("MySQL", logger: logger) { try await mysql.execute("SELECT 1") }
        try await Self.waitFor("Redis", logger: logger) { try await redis.send("PING") }
        let migrator = try MySQLMigrator(directory: Self.migrationsDirectory(options.migrations), logger: logger)
        try await Self.waitFor("migrations", logger: logger) { try await migrator.migrate(mysql) }

        let keys = RedisKeys(namespace: options.namespace)
        // The cluster's clock, read before anything is written.
        try await Self.waitFor("Redis TIME", logger: logger) { try await clock.sync(redis) }
        let broker = RedisBroker(redis: redis, control: control, keys: keys, clock: clock)
        let apiBroker = RedisBroker(redis: apiRedis, keys: keys, clock: clock)

        // Queues, in-flight lists and the leader lock must never be evicted.
        switch await broker.evictionPolicy() {
        case "noeviction": break
        case nil: logger.warning("could not read Redis maxmemory-policy (CONFIG not allowed?); it must be noeviction")
        case let policy?:
            if !options.allowEvictingRedis {
                for client in clients { try? await client.shutdown() }
                throw ValidationError(
                    "Redis maxmemory-policy is \(policy): under memory pressure it would silently evict queued tasks; set maxmemory-policy noeviction (or pass --allow-evicting-redis)"
                )
            }
            logger.warning("Redis evicts keys under memory pressure (--allow-evicting-redis): queued tasks may vanish until the reconciler restores them", metadata: ["policy": "\(policy)"])
        }
        // The id before anything registers under it: a second live node with
        // this id is refused here, before its worker would take over the first's.
        let presence = NodePresence(
            broker: broker, nodeID: nodeID, incarnation: .current(), ttl: .seconds(options.heartbeatTTL), interval: .seconds(options.heartbeatInterval),
            logger: logger
        )
        do {
            try await Self.waitFor("the node id", logger: logger) { try await presence.claim() }
        } catch {
            for client in clients { try? await client.shutdown() }
            throw error
        }
        let hub = EventHub()
        let taskStore = TaskStore(mysql: mysql)
        let configStore = TaskConfigStore(mysql: mysql)
        let configCache = TaskConfigCache(store: configStore)
        let apiTaskStore = TaskStore(mysql: apiMySQL)
        let apiConfigStore = TaskConfigStore(mysql: apiMySQL)
        let apiConfigCache = TaskConfigCache(store: apiConfigStore)
        let leader = LeaderState()

        var electorConfiguration = Elector.Configuration()
        electorConfiguration.lockTTL = .seconds(options.lockTTL)
        electorConfiguration.renewInterval = .seconds(options.renewInterval)
        var dispatcherConfiguration = Dispatcher.Configuration()
        dispatcherConfiguration.batchSize = options.dispatchBatch
        dispatcherConfiguration.strategy = options.dispatchStrategy.strategy
        dispatcherConfiguration.weights = try options.weights
        dispatcherConfiguration.highReserve = options.highReserve
        dispatcherConfiguration.heartbeatTTL = .seconds(options.heartbeatTTL)
        var retention = RetentionJanitor.Configuration()
        retention.defaultHours = options.retentionHours
        let schedules = ScheduleStore(mysql: mysql)
        var deadWorkers = DeadWorkerRecoverer.Configuration()
        deadWorkers.heartbeatTTL = .seconds(options.heartbeatTTL)
        deadWorkers.maxWorkerLosses = options.maxWorkerLosses

        var workerConfiguration = WorkerConfiguration(nodeID: nodeID)
        workerConfiguration.capacity = options.capacity
        workerConfiguration.maxWindow = options.maxWindow
        workerConfiguration.taskTypes = options.taskTypes.split(separator: ",").map(String.init)
        workerConfiguration.heartbeatInterval = .seconds(options.heartbeatInterval)
        workerConfiguration.heartbeatTTL = .seconds(options.heartbeatTTL)
        workerConfiguration.gracePeriod = .seconds(options.gracePeriod)
        let logs = TaskLogWriter(store: taskStore, logger: logger)
        let registry = ExecutorRegistry()
        let limits = try options.limits
        // Every worker enforces the allow-list itself, on the address it connects to.
        let egress = EgressGuard(allowList: limits.executorAllowList)
        logger.info("executor allow-list", metadata: [
            "entries": "\(limits.executorAllowList.entries?.count.description ?? "any address but link-local and metadata")",
            "ca": "\(options.executorCaFile ?? "system roots")",
        ])
        let httpExecutor = HTTPExecutor(egress: egress, trustRootsFile: options.executorCaFile)
        let grpcExecutor = GRPCExecutor(egress: egress, trustRootsFile: options.executorCaFile, logger: logger)
        registry.set(httpExecutor, for: .http)
        registry.set(grpcExecutor, for: .grpc)
        let worker = Worker(
            configuration: workerConfiguration, broker: broker, tasks: taskStore, configs: configCache,
            registry: registry, logs: logs, logger: logger
        )

        // Both stores answered just above: serving until the first probe says otherwise.
        let probe = HealthProbe(
            mysql: mysql, broker: broker, interval: .milliseconds(options.healthProbeIntervalMs), timeout: .milliseconds(options.healthProbeTimeoutMs),
            initiallyServing: true, logger: logger
        )
        let health = HealthService(probe: probe, maxWatchers: options.healthMaxWatchers)
        let interceptors: [any ServerInterceptor] = [RPCMetricsInterceptor(), AuthInterceptor(authenticator: authenticator)]
        // One service layer under gRPC, REST and the dashboard.
        let taskService = TaskService(
            nodeID: nodeID, tasks: apiTaskStore, configs: apiConfigCache, broker: apiBroker, hub: hub, limits: limits,
            watchLimits: WatchLimits(perNode: options.maxWatches, perKey: options.maxWatchesPerKey), logger: logger
        )
        let apiSchedules = ScheduleStore(mysql: apiMySQL)
        let adminService = AdminService(
            store: apiConfigStore, schedules: apiSchedules, cache: apiConfigCache, broker: apiBroker, limits: limits, logger: logger
        )
        let scheduleService = ScheduleService(store: apiSchedules, configs: apiConfigCache, broker: apiBroker, limits: limits, logger: logger)
        let grpcLimits = options.grpcLimits
        logger.info("gRPC limits", metadata: [
            "max_connections": "\(grpcLimits.maxConnections.map(String.init) ?? "none")", "max_streams": "\(grpcLimits.maxConcurrentStreams)",
            "handshake_timeout": "\(grpcLimits.handshakeTimeout)", "idle_timeout": "\(grpcLimits.idleTimeout)",
        ])
        let api = APIServer(
            host: options.host,
            port: options.grpcPort,
            services: [
                TaskServiceHandler(service: taskService),
                AdminServiceHandler(service: adminService, schedules: scheduleService),
                health,
                try ReflectionService(services: ["baton.v1.TaskService", "baton.v1.AdminService", "grpc.health.v1.Health"]),
            ],
            interceptors: interceptors,
            tls: options.tlsCert.map { ServerTLS(certificatePath: $0, keyPath: options.tlsKey ?? "", clientCAPath: options.tlsCaCert) },
            limits: grpcLimits,
            logger: logger
        )
        let history = StatsHistory(
            nodeID: nodeID, tasks: apiTaskStore, broker: apiBroker, startLatency: roles.contains(.worker) ? worker.startLatency : nil, logger: logger
        )
        let router = Router()
        SimpleRoutes.add(
            [
                "/health": { _ in .init(body: "ok\n") },
                "/ready": { _ in
                    probe.serving ? .init(body: "ready\n") : .init(status: .serviceUnavailable, body: "MySQL or Redis unreachable\n")
                },
                "/metrics": { _ in .init(contentType: "text/plain; version=0.0.4", body: metrics.emitToString()) },
            ],
            to: router
        )
        // The dashboard and the OpenAPI document, embedded at build time (scripts/embed-web.py).
        let assets: @Sendable (String) -> StaticAsset? = { name in
            EmbeddedAssets.files[name].map { StaticAsset(contentType: $0.contentType, body: $0.body, etag: $0.etag) }
        }
        // Without the api role the HTTP port stays for /health, /ready and
        // /metrics only: load balancers and Prometheus reach every node.
        if roles.contains(.api) {
            RESTRoutes(tasks: taskService, admin: adminService, schedules: scheduleService, authenticator: authenticator, history: history, assets: assets, logger: logger)
                .add(to: router)
            StaticFiles.add(to: router, assets: assets)
        }
        let http = HTTPServer(host: options.host, port: options.workerPort, router: router, limits: options.httpLimits, logger: logger)

        // Listed in start order; a graceful stop goes in reverse, so the id is
        // released last, after the worker deregistered.
        var services: [any Service] = [
            presence,
            ClusterClockSync(clock: clock, redis: redis, logger: logger),
            EventStreamReader(broker: broker, hub: hub, logger: logger),
            ConfigInvalidation(hub: hub, cache: configCache),
            ConfigInvalidation(hub: hub, cache: apiConfigCache),
            logs,
            reloader,
        ]
        if roles.contains(.worker) { services.append(grpcExecutor) }
        if roles.contains(.scheduler) {
            services += [
                Elector(
                    broker: broker, epochs: LeaderEpochStore(mysql: mysql), nodeID: nodeID, state: leader, configuration: electorConfiguration,
                    logger: logger
                ),
                LeaderServices(
                    state: leader,
                    loops: [
                        Dispatcher(broker: broker, tasks: taskStore, configs: configStore, configuration: dispatcherConfiguration, logger: logger),
                        DelayedPromoter(broker: broker),
                        ScheduleFirer(schedules: schedules, configs: configStore, broker: broker, logger: logger),
                        DeadWorkerRecoverer(broker: broker, tasks: taskStore, configuration: deadWorkers, logger: logger),
                        TimeoutRecoverer(broker: broker, tasks: taskStore, configs: configCache, logger: logger),
                        Reconciler(broker: broker, tasks: taskStore, logger: logger),
                        CountAudit(tasks: taskStore, logger: logger),
                        RetentionJanitor(
                            tasks: taskStore, configs: configStore, schedules: schedules, clock: { broker.clock.now() }, configuration: retention,
                            logger: logger
                        ),
                    ],
                    logger: logger
                ),
            ]
        }
        services += [ClusterGauges(broker: broker, interval: .seconds(5)), probe]
        if roles.contains(.api) { services.append(history) }
        if roles.contains(.worker) { services += [worker.heartbeat(), worker] }
        if roles.contains(.api) { services.append(api) }
        services.append(http)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info("node ready", metadata: [
            "roles": "\(roles)", "grpc_port": "\(roles.contains(.api) ? String(options.grpcPort) : "none")", "http_port": "\(options.workerPort)",
            "worker": "\(roles.contains(.worker) ? workerConfiguration.workerID : "none")",
        ])
        return Node(group: group, clients: clients, httpExecutor: httpExecutor)
    }

    func run() async throws {
        do {
            try await self.group.run()
        } catch {
            // A service that failed (a port in use, say) still leaves the
            // clients to close: the HTTP client traps if dropped while open.
            await self.closeClients()
            throw error
        }
        await self.closeClients()
    }

    private func closeClients() async {
        try? await self.httpExecutor.shutdown()
        for client in self.clients { try? await client.shutdown() }
    }

    /// Whether a Redis URL holds a password: the master's, or the Sentinels'.
    private static func carriesPassword(_ url: String) -> Bool {
        guard let configuration = try? RedisConfiguration(url: url) else { return false }
        return configuration.password != nil || configuration.sentinel?.url.sentinelPassword != nil
    }

    private static func secret(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func waitFor(_ what: String, logger: Logger, _ attempt: () async throws -> Void) async throws {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                try await attempt()
                return
            } catch let error as ValidationError {
                throw error
            } catch {
                logger.warning("\(what) not reachable yet; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// `sql/` relative to the working folder, else next to the executable's checkout.
    private static func migrationsDirectory(_ path: String) -> URL {
        if FileManager.default.fileExists(atPath: path) { return URL(fileURLWithPath: path) }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: path)
    }
}

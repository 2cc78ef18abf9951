import BatonBroker
import BatonMySQL
import BatonStore
import Logging

/// What a node does before it builds anything: waits for MySQL and Redis
/// (nodes may start before them), migrates, syncs the cluster clock, checks
/// that Redis keeps what it is given and holds no older release's keys, and
/// claims the node id. Nothing is written or served before it returns.
enum NodeStartup {
    /// The brokers (the node's own, and the API's on its own pool) and the
    /// node id's claim, once every check passed.
    struct Ready {
        let broker: RedisBroker
        let apiBroker: RedisBroker
        let presence: NodePresence
    }

    static func prepare(settings: NodeSettings, clients: NodeClients, clock: ClusterClock, logger: Logger) async throws -> Ready {
        try await StartupWait.until("MySQL", logger: logger) { try await clients.mysql.execute("SELECT 1") }
        try await StartupWait.until("Redis", logger: logger) { try await clients.redis.send("PING") }
        let migrator = try settings.migrations.map { try MySQLMigrator(directory: $0, logger: logger) }
            ?? MySQLMigrator(files: EmbeddedMigrations.files, logger: logger)
        try await StartupWait.until("migrations", logger: logger) { try await migrator.migrate(clients.mysql) }

        // One clock for the cluster's decisions (and tokens' times): Redis's,
        // read before anything is written or served.
        let keys = RedisKeys(namespace: settings.namespace)
        let broker = RedisBroker(redis: clients.redis, control: clients.control, keys: keys, clock: clock)
        try await StartupWait.until("Redis TIME", logger: logger) { try await broker.clock.sync(clients.redis) }
        let apiBroker = RedisBroker(redis: clients.apiRedis, keys: keys, clock: broker.clock)
        try await Self.checkEviction(broker: broker, allowed: settings.allowEvictingRedis, logger: logger)
        try await StartupWait.until("Redis key shapes", logger: logger) { try await Self.checkKeyShape(broker: broker) }
        // The id before anything registers under it: a second live node with
        // this id is refused here, before its worker would take over the first's.
        let presence = NodePresence(
            broker: broker, nodeID: settings.nodeID, incarnation: .current(), ttl: settings.heartbeatTTL, interval: settings.heartbeatInterval,
            logger: logger
        )
        try await StartupWait.until("the node id", logger: logger) { try await presence.claim() }
        return Ready(broker: broker, apiBroker: apiBroker, presence: presence)
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

    /// State of a release before the hash tag (`baton:…`) must be gone before
    /// this one starts: it would not see it, and both releases would lead.
    private static func checkKeyShape(broker: RedisBroker) async throws {
        let old = try await broker.untaggedState()
        guard !old.isEmpty else { return }
        let pattern = broker.keys.untaggedPattern
        throw NodeStartError(
            "Redis holds state of a Baton release before the {\(broker.keys.namespace)} hash tag (\(old.joined(separator: ", "))), "
                + "which this release would not see. Stop every node of the older release (a graceful stop hands queued work back), "
                + "delete its keys: redis-cli --scan --pattern '\(pattern)' | xargs -r redis-cli unlink (with your -h/-p/-a/-n), "
                + "then start the nodes: the first leader restores every waiting task from MySQL. See docs/redis.md, Upgrading."
        )
    }
}

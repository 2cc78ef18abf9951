import BatonGRPC
import BatonHTTP
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonService
import BatonWorker
import Foundation

/// Everything a node is built from, as plain values: what `baton-node`'s
/// flags and config file resolve to, and what a worker package of its own
/// fills in (`NodeSettings(nodeID:redis:mysql:)` and the defaults below are a
/// working node). No parsing here: the command line and the config file are
/// the executable's business.
public struct NodeSettings: Sendable {
    public var nodeID: String
    public var roles: NodeRoles = .all
    public var mysql: MySQLConfiguration
    public var redis: RedisConfiguration
    /// The Redis key prefix: clusters sharing one Redis keep apart by it.
    public var namespace = "baton"
    /// A folder of SQL migrations applied at start instead of those built
    /// into the binary (`EmbeddedMigrations`, from sql/); nil: those.
    public var migrations: URL?
    /// Start even when Redis may evict keys (queued tasks could vanish until
    /// the reconciler restores them).
    public var allowEvictingRedis = false

    /// Client calls' pools, apart from the cluster's own: a flood of calls
    /// waits at most `poolAcquireTimeout` and answers UNAVAILABLE, never
    /// taking a connection from outcome writes or the leader's loops.
    public var apiMySQLConnections = 16
    public var apiRedisConnections = 16
    public var poolAcquireTimeout: Duration = .seconds(2)

    /// The node id's claim and the worker's heartbeat share these.
    public var heartbeatInterval: Duration = .seconds(3)
    public var heartbeatTTL: Duration = .seconds(9)

    public var election = Elector.Configuration()
    public var leaderLoops = LeaderLoops.Configuration()
    public var worker: WorkerConfiguration

    /// Request limits of every API, and the executors' allow-list.
    public var limits = ValidationLimits()
    /// CA file the HTTP and gRPC executors trust (system roots when nil).
    public var executorCAFile: String?

    public var host = "127.0.0.1"
    public var grpcPort = 9090
    /// /health, /ready, /metrics, and with the api role REST and the dashboard.
    public var httpPort = 8080
    public var tls: ServerTLS?
    public var grpcLimits = GRPCLimits()
    public var httpLimits = HTTPLimits()
    public var healthProbeInterval: Duration = .seconds(1)
    public var healthProbeTimeout: Duration = .seconds(2)
    public var healthMaxWatchers = 10_000
    public var watchLimits = WatchLimits()
    /// Spans over OTLP (`--otel-endpoint`); nil (the default) traces nothing.
    public var tracing: TracingSettings?

    /// A node of every role with the defaults; the migrations built in unless a folder is given.
    public init(nodeID: String, redis: RedisConfiguration, mysql: MySQLConfiguration, migrations: URL? = nil) {
        self.nodeID = nodeID
        self.redis = redis
        self.mysql = mysql
        self.migrations = migrations
        self.worker = WorkerConfiguration(nodeID: nodeID)
    }
}

extension NodeSettings {
    /// Settings from the stores' URLs (`redis://…` or `sentinel://…`,
    /// `mysql://user:password@host:port/database`), as `--redis` and
    /// `--mysql` take them.
    public init(nodeID: String, redisURL: String, mysqlURL: String, migrations: URL? = nil) throws {
        self.init(nodeID: nodeID, redis: try RedisConfiguration(url: redisURL), mysql: try MySQLConfiguration(url: mysqlURL), migrations: migrations)
    }
}

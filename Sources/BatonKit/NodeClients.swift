import BatonMySQL
import BatonRedis
import Logging

/// The pools a node opens. Client calls get pools of their own, with an
/// acquire timeout: a flood of them answers UNAVAILABLE and never takes a
/// connection from the workers' outcome writes or the leader's loops; the
/// heartbeats and the leader lock have a small control pool nothing else uses.
public struct NodeClients: Sendable {
    /// Workers' writes and the leader's loops.
    public let mysql: MySQLClient
    public let redis: RedisClient
    /// Client calls (gRPC, REST, the dashboard).
    public let apiMySQL: MySQLClient
    public let apiRedis: RedisClient
    /// Heartbeats and the leader lock.
    public let control: RedisClient

    public init(settings: NodeSettings, logger: Logger) {
        self.mysql = MySQLClient(configuration: settings.mysql, logger: logger)
        self.redis = RedisClient(configuration: settings.redis, logger: logger)
        var apiMySQL = settings.mysql
        apiMySQL.maxConnections = settings.apiMySQLConnections
        apiMySQL.acquireTimeout = settings.poolAcquireTimeout
        self.apiMySQL = MySQLClient(configuration: apiMySQL, logger: logger)
        var apiRedis = settings.redis
        apiRedis.maxConnections = settings.apiRedisConnections
        apiRedis.acquireTimeout = settings.poolAcquireTimeout
        self.apiRedis = RedisClient(configuration: apiRedis, logger: logger)
        var control = settings.redis
        control.maxConnections = 2
        self.control = RedisClient(configuration: control, logger: logger)
    }

    /// Closes every pool (errors ignored: the node is stopping).
    public func shutdown() async {
        try? await self.mysql.shutdown()
        try? await self.redis.shutdown()
        try? await self.apiMySQL.shutdown()
        try? await self.apiRedis.shutdown()
        try? await self.control.shutdown()
    }
}

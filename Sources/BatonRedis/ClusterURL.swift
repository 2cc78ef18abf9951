import BatonPool

/// `redis-cluster://[[user]:password@]host[:port],host[:port]…`: some nodes
/// of a Redis Cluster (seeds: any node will do, the others are learned)
/// and the credentials of every node. A cluster has database 0 only, so no
/// path but `/` or `/0` is accepted.
public struct ClusterURL: Sendable, Hashable, CustomStringConvertible {
    public var seeds: [ConnectionURL.Endpoint]
    public var username: String?
    public var password: String?

    public init(_ text: String) throws(RedisError) {
        try self.init(parsed: try ConnectionURL.redis(text))
    }

    init(parsed: ConnectionURL) throws(RedisError) {
        guard parsed.scheme == "redis-cluster" else {
            throw RedisError(.invalidURL, "expected redis-cluster://[:password@]host:port,host:port")
        }
        guard parsed.path.isEmpty || parsed.path == "0" else {
            throw RedisError(.invalidURL, "a Redis Cluster has only database 0: a redis-cluster:// URL names no other")
        }
        guard parsed.query.isEmpty else {
            throw RedisError(.invalidURL, "a redis-cluster:// URL takes no parameters")
        }
        self.seeds = parsed.endpoints.map { ConnectionURL.Endpoint(host: $0.host, port: $0.port ?? 6379) }
        (self.username, self.password) = parsed.redisCredentials
    }

    /// The URL without its password: fit for logs and errors.
    public var description: String {
        "redis-cluster://\(ConnectionURL.maskedCredentials(self.username, self.password))\(self.seeds.map(\.description).joined(separator: ","))"
    }
}

import BatonPool

/// Where and how to connect, usually parsed from `redis://[:password@]host:port[/db]`,
/// `sentinel://[:password@]host:port,host:port/mastername[?db=N]`, their TLS
/// forms `rediss://…` and `sentinels://…`, or `redis-cluster://[:password@]host:port,host:port`.
public struct RedisConfiguration: Sendable {
    /// The server, unless `sentinel` is set: then each new connection asks
    /// the Sentinels for the master's address instead.
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    public var maxConnections: Int
    /// How long a call waits for a pooled connection before failing `.busy`;
    /// nil waits as long as it takes.
    public var acquireTimeout: Duration?
    /// Set for `sentinel://` URLs. A reference: every copy of this
    /// configuration (a node's several pools) shares one, so they follow one
    /// master and a failover is noticed and logged once.
    public var sentinel: SentinelResolver?
    /// Set for `rediss://` and `sentinels://` (then it is the Sentinels' and
    /// the master's): every connection is TLS, the server's certificate verified.
    public var tls: RedisTLS?
    /// Set for `redis-cluster://` URLs, shared by every copy as `sentinel` is:
    /// new connections go to the master of the namespace's slot, and a
    /// MOVED reply moves them all.
    public var cluster: ClusterRouter?

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        maxConnections: Int = 16,
        tls: RedisTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxConnections = maxConnections
        self.tls = tls
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`,
    /// `rediss://…[?ca=/path&cert=/path&key=/path&server_name=name]` (TLS),
    /// `sentinel[s]://[[user]:password@]host[:port],host[:port]…/mastername[?db=N…]` or
    /// `redis-cluster://[[user]:password@]host[:port],host[:port]…`.
    ///
    /// A cluster is named by its own scheme rather than found out on a
    /// `redis://` URL: the operator says which they run, a `redis://` URL
    /// always means one server (a MOVED reply there fails the call with a
    /// hint), and a cluster URL can list several seeds.
    public init(url: String) throws(RedisError) {
        self.init()
        let parsed = try ConnectionURL.redis(url)
        switch parsed.scheme {
        case "redis", "rediss":
            guard parsed.endpoints.count == 1 else {
                throw RedisError(.invalidURL, "a \(parsed.scheme):// URL names one server; for Sentinel use sentinel://host:port,host:port/mastername")
            }
            self.host = parsed.host
            self.port = parsed.port ?? 6379
            (self.username, self.password) = parsed.redisCredentials
            self.database = try ConnectionURL.redisDatabase(parsed.path)
            if parsed.scheme == "rediss" {
                if let unknown = parsed.query.keys.sorted().first(where: { !RedisTLS.queryKeys.contains($0) }) {
                    throw RedisError(.invalidURL, "unknown parameter \(unknown) in the rediss:// URL (known: \(RedisTLS.queryKeys.joined(separator: ", ")))")
                }
                self.tls = try RedisTLS(query: parsed.query)
            } else {
                try RedisTLS.refuseWithout("rediss", in: parsed.query)
            }
        case "sentinel", "sentinels":
            let sentinel = try SentinelURL(parsed: parsed)
            (self.username, self.password) = (sentinel.username, sentinel.password)
            self.database = sentinel.database
            self.tls = sentinel.tls
            self.sentinel = SentinelResolver(url: sentinel)
        case "redis-cluster":
            let cluster = try ClusterURL(parsed: parsed)
            (self.username, self.password) = (cluster.username, cluster.password)
            self.cluster = ClusterRouter(url: cluster)
        default:
            throw RedisError(
                .invalidURL,
                "expected redis://[:password@]host:port[/db], sentinel://[:password@]host:port,host:port/mastername or redis-cluster://[:password@]host:port,host:port (rediss:// and sentinels:// for TLS)"
            )
        }
    }

    /// Where this connects, without any password: for logs.
    public var redacted: String {
        if let sentinel { return sentinel.url.description }
        if let cluster { return cluster.url.description }
        let query = self.tls?.queryItems ?? []
        return "\(self.tls == nil ? "redis" : "rediss")://\(self.host):\(self.port)/\(self.database)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }
}

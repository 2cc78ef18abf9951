import BatonPool

/// Where and how to connect, usually parsed from `redis://[:password@]host:port[/db]`
/// or `sentinel://[:password@]host:port,host:port/mastername[?db=N]`.
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

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        maxConnections: Int = 16
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxConnections = maxConnections
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]` or
    /// `sentinel://[[user]:password@]host[:port],host[:port]…/mastername[?db=N]`.
    public init(url: String) throws(RedisError) {
        self.init()
        let parsed = try ConnectionURL.redis(url)
        switch parsed.scheme {
        case "redis":
            guard parsed.endpoints.count == 1 else {
                throw RedisError(.invalidURL, "a redis:// URL names one server; for Sentinel use sentinel://host:port,host:port/mastername")
            }
            self.host = parsed.host
            self.port = parsed.port ?? 6379
            (self.username, self.password) = parsed.redisCredentials
            self.database = try ConnectionURL.redisDatabase(parsed.path)
        case "sentinel":
            let sentinel = try SentinelURL(parsed: parsed)
            (self.username, self.password) = (sentinel.username, sentinel.password)
            self.database = sentinel.database
            self.sentinel = SentinelResolver(url: sentinel)
        default:
            throw RedisError(.invalidURL, "expected redis://[:password@]host:port[/db] or sentinel://[:password@]host:port,host:port/mastername")
        }
    }

    /// Where this connects, without any password: for logs.
    public var redacted: String {
        if let sentinel { return sentinel.url.description }
        return "redis://\(self.host):\(self.port)/\(self.database)"
    }
}

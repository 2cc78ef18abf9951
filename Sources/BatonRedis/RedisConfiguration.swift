import BatonPool

/// Where and how to connect, usually parsed from `redis://[:password@]host:port[/db]`.
public struct RedisConfiguration: Sendable {
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

    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    public init(url: String) throws(RedisError) {
        self.init()
        let parsed: ConnectionURL
        do { parsed = try ConnectionURL(url) } catch { throw RedisError(.invalidURL, error.description) }
        guard parsed.scheme == "redis" else {
            throw RedisError(.invalidURL, "expected redis://[:password@]host:port[/db]")
        }
        self.host = parsed.host
        self.port = parsed.port ?? 6379
        // `redis://secret@host` carries a password without a user, as redis-cli reads it.
        if parsed.password == nil, let lone = parsed.user {
            self.password = lone
        } else {
            self.username = parsed.user
            self.password = parsed.password
        }
        if !parsed.path.isEmpty {
            guard let number = Int(parsed.path), number >= 0 else {
                throw RedisError(.invalidURL, "database must be a non-negative number")
            }
            self.database = number
        }
    }
}

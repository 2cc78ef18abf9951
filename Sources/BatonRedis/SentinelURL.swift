import BatonPool

/// `sentinel://[[user]:password@]host[:port],host[:port]…/mastername[?db=N]`:
/// the Sentinels to ask and the name of the master Baton uses.
/// `sentinels://` speaks TLS to the Sentinels and the master alike, with
/// `rediss://`'s parameters (`ca`, `cert`, `key`, `server_name`).
///
/// The userinfo authenticates to the master (and so to whichever replica a
/// failover promotes), exactly as in `redis://`. Sentinels often run without
/// a password, or with one of their own: `sentinel_password` (and
/// `sentinel_user` for an ACL user) in the query. Unknown query parameters
/// are refused, so a misspelt `sentinel_password` fails loudly rather than
/// connecting without it.
public struct SentinelURL: Sendable, Hashable, CustomStringConvertible {
    /// Sentinel's own default port, for a host given without one.
    public static let defaultPort = 26379
    static let queryKeys: [String] = ["db", "sentinel_user", "sentinel_password"]

    /// Every Sentinel, each with its port.
    public var sentinels: [ConnectionURL.Endpoint]
    public var masterName: String
    public var username: String?
    public var password: String?
    public var database: Int
    public var sentinelUsername: String?
    public var sentinelPassword: String?
    /// Set for `sentinels://`.
    public var tls: RedisTLS?

    public init(_ text: String) throws(RedisError) {
        try self.init(parsed: try ConnectionURL.redis(text))
    }

    init(parsed: ConnectionURL) throws(RedisError) {
        guard parsed.scheme == "sentinel" || parsed.scheme == "sentinels" else {
            throw RedisError(.invalidURL, "expected sentinel://[:password@]host:port,host:port/mastername[?db=N] (sentinels:// for TLS)")
        }
        guard !parsed.path.isEmpty, !parsed.path.contains("/") else {
            throw RedisError(.invalidURL, "a sentinel:// URL ends with the master's name: sentinel://host:port,host:port/mastername")
        }
        let known = Self.queryKeys + (parsed.scheme == "sentinels" ? RedisTLS.queryKeys : [])
        if let unknown = parsed.query.keys.sorted().first(where: { !known.contains($0) }) {
            try RedisTLS.refuseWithout("sentinels", in: parsed.query)
            throw RedisError(.invalidURL, "unknown parameter \(unknown) in the \(parsed.scheme):// URL (known: \(known.joined(separator: ", ")))")
        }
        self.sentinels = parsed.endpoints.map { ConnectionURL.Endpoint(host: $0.host, port: $0.port ?? Self.defaultPort) }
        self.masterName = parsed.path
        (self.username, self.password) = parsed.redisCredentials
        self.database = try ConnectionURL.redisDatabase(parsed.query["db"] ?? "")
        self.sentinelUsername = parsed.query["sentinel_user"]
        self.sentinelPassword = parsed.query["sentinel_password"]
        self.tls = parsed.scheme == "sentinels" ? try RedisTLS(query: parsed.query) : nil
    }

    /// The URL with every password replaced: fit for logs and errors.
    public var description: String {
        let mask = "REDACTED"
        let credentials = ConnectionURL.maskedCredentials(self.username, self.password)
        var query: [String] = []
        if self.database != 0 { query.append("db=\(self.database)") }
        if let sentinelUsername { query.append("sentinel_user=\(sentinelUsername)") }
        if self.sentinelPassword != nil { query.append("sentinel_password=\(mask)") }
        query += self.tls?.queryItems ?? []
        let hosts = self.sentinels.map(\.description).joined(separator: ",")
        return "\(self.tls == nil ? "sentinel" : "sentinels")://\(credentials)\(hosts)/\(self.masterName)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }
}

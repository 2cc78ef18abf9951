import BatonPool

/// Where and how to connect, usually parsed from `mysql://user:password@host:port/database`.
public struct MySQLConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String
    public var connectTimeout: Duration
    /// Read and write timeouts of one statement's round trip.
    public var ioTimeout: Duration
    public var maxConnections: Int
    /// How long a call waits for a pooled connection before failing `.busy`;
    /// nil waits as long as it takes.
    public var acquireTimeout: Duration?
    /// Encrypt the connection (refuse a server without TLS).
    public var tls: Bool = false
    /// CA (PEM) that signed the server's certificate; with it the server's certificate is verified.
    public var tlsCAPath: String?

    public init(
        host: String = "127.0.0.1",
        port: Int = 3306,
        user: String,
        password: String = "",
        database: String,
        connectTimeout: Duration = .seconds(3),
        ioTimeout: Duration = .seconds(30),
        maxConnections: Int = 16
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
        self.maxConnections = maxConnections
    }

    /// Parses `mysql://user:password@host:port/database`.
    public init(url: String) throws(MySQLError) {
        let parsed: ConnectionURL
        do { parsed = try ConnectionURL(url) } catch { throw MySQLError(.invalidURL, error.description) }
        guard parsed.scheme == "mysql" || parsed.scheme == "mariadb" else {
            throw MySQLError(.invalidURL, "expected mysql://user:password@host:port/database")
        }
        guard parsed.endpoints.count == 1 else { throw MySQLError(.invalidURL, "a MySQL URL names one host") }
        guard let user = parsed.user else { throw MySQLError(.invalidURL, "missing user in MySQL URL") }
        guard !parsed.path.isEmpty else { throw MySQLError(.invalidURL, "missing database in MySQL URL") }
        self.init(host: parsed.host, port: parsed.port ?? 3306, user: user, password: parsed.password ?? "", database: parsed.path)
        // `?tls=true` (or `ssl-mode=REQUIRED`/`VERIFY_CA`) and `ssl-ca=/path/ca.pem`, as MySQL clients spell them.
        let mode = (parsed.query["ssl-mode"] ?? parsed.query["sslmode"] ?? "").uppercased()
        self.tls = ["true", "1"].contains(parsed.query["tls"] ?? parsed.query["ssl"] ?? "") || ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"].contains(mode)
        self.tlsCAPath = parsed.query["ssl-ca"] ?? parsed.query["tls-ca"]
        if self.tlsCAPath != nil { self.tls = true }
    }

    /// The address and database, never the password.
    public var redacted: String { "mysql://\(self.user)@\(self.host):\(self.port)/\(self.database)" }
}

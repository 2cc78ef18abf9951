import BatonPool

/// Where and how to connect, usually parsed from `mysql://user:password@host:port/database`
/// (or `…@h1:p1,h2:p2,h3:p3/database` for the members of a Galera cluster).
public struct MySQLConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Servers tried after `host:port`, in order: the other members of a
    /// multi-primary (Galera) cluster, from `mysql://u:p@h1:p1,h2:p2,h3:p3/db`.
    public var alternates: [ConnectionURL.Endpoint] = []
    /// `SET SESSION wsrep_sync_wait` on every connection (`?wsrep_sync_wait=N`):
    /// on Galera, makes a statement wait until its node applied every write the
    /// cluster committed before it (read-your-writes across nodes). Nil leaves
    /// the server's setting.
    public var wsrepSyncWait: Int?
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
    /// The server's Unix socket (`?socket=/path/mysqld.sock`): a server on
    /// the node's own host reached through it instead of TCP, for a database
    /// whose only door is its socket (measured level with loopback TCP for
    /// Baton's batched statements: docs/benchmarks.md). One server only: it
    /// cannot name Galera members.
    public var unixSocket: String?

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
        guard let user = parsed.user else { throw MySQLError(.invalidURL, "missing user in MySQL URL") }
        guard !parsed.path.isEmpty else { throw MySQLError(.invalidURL, "missing database in MySQL URL") }
        self.init(host: parsed.host, port: parsed.port ?? 3306, user: user, password: parsed.password ?? "", database: parsed.path)
        self.alternates = parsed.endpoints.dropFirst().map { ConnectionURL.Endpoint(host: $0.host, port: $0.port ?? 3306) }
        if let wait = parsed.query["wsrep_sync_wait"] {
            guard let value = Int(wait), (0...15).contains(value) else {
                throw MySQLError(.invalidURL, "wsrep_sync_wait must be a number from 0 to 15")
            }
            self.wsrepSyncWait = value
        }
        // `?tls=true` (or `ssl-mode=REQUIRED`/`VERIFY_CA`) and `ssl-ca=/path/ca.pem`, as MySQL clients spell them.
        let mode = (parsed.query["ssl-mode"] ?? parsed.query["sslmode"] ?? "").uppercased()
        self.tls = ["true", "1"].contains(parsed.query["tls"] ?? parsed.query["ssl"] ?? "") || ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"].contains(mode)
        self.tlsCAPath = parsed.query["ssl-ca"] ?? parsed.query["tls-ca"]
        if self.tlsCAPath != nil { self.tls = true }
        if let socket = parsed.query["socket"] {
            guard socket.hasPrefix("/") else { throw MySQLError(.invalidURL, "socket= needs an absolute path, e.g. ?socket=/run/mysqld/mysqld.sock") }
            guard self.alternates.isEmpty else { throw MySQLError(.invalidURL, "socket= names one local server; it cannot go with several hosts") }
            self.unixSocket = socket
        }
    }

    /// Every server, `host:port` first.
    public var servers: [ConnectionURL.Endpoint] {
        [ConnectionURL.Endpoint(host: self.host, port: self.port)] + self.alternates
    }

    /// The addresses and database, never the password.
    public var redacted: String {
        if let socket = self.unixSocket { return "mysql://\(self.user)@\(self.host)/\(self.database)?socket=\(socket)" }
        return "mysql://\(self.user)@\(self.servers.map(\.description).joined(separator: ","))/\(self.database)"
    }
}

import BatonPool
import CMariaDB

#if canImport(Glibc)
import Glibc
#endif

/// One Connector/C connection with its prepared-statement cache. Blocking;
/// used by one thread at a time (the pool's).
final class MySQLConnection: PoolableConnection, @unchecked Sendable {
    private static let statementCacheLimit = 256
    private static let libraryInitialized: Void = {
        // `mysql_library_init` is a macro Swift cannot see; this is what it expands to.
        mysql_server_init(0, nil, nil)
    }()

    private let handle: UnsafeMutablePointer<MYSQL>
    private var statements: [String: MySQLStatement] = [:]
    private var failed = false
    private let tls: Bool

    /// After a lost connection, or while idle once the server closed its end
    /// (it died, restarted or killed the connection). Checked before a pooled
    /// connection is handed out, so a dead server's idle connections are
    /// replaced before a statement is sent on them (such a statement's fate
    /// would be unknown).
    var isBroken: Bool {
        if !self.failed, self.peerClosed() { self.failed = true }
        return self.failed
    }

    /// A non-blocking look at the idle socket. A plain idle connection has
    /// nothing to read: anything readable is end-of-file or the server's
    /// goodbye. Over TLS the server may send session tickets unasked, so
    /// only end-of-file or a socket error counts there.
    private func peerClosed() -> Bool {
        let socket = mysql_get_socket(self.handle)
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return false }
        if !self.tls || poller.revents & Int16(POLLERR | POLLHUP) != 0 { return true }
        var byte: UInt8 = 0
        let peeked = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Connects to the first of `servers` that answers (see `MySQLServers`).
    convenience init(configuration: MySQLConfiguration, servers: MySQLServers) throws(MySQLError) {
        var failures: [MySQLError] = []
        for index in servers.attemptOrder {
            do {
                try self.init(configuration: configuration, server: index, of: servers)
                servers.connected(index)
                return
            } catch {
                servers.refused(index)
                failures.append(error)
            }
        }
        guard failures.count > 1, var error = failures.last else { throw failures[0] }
        error.message = failures.map(\.message).joined(separator: "; ")
        throw error
    }

    private init(configuration: MySQLConfiguration, server index: Int, of servers: MySQLServers) throws(MySQLError) {
        _ = Self.libraryInitialized
        BrokenPipe.ignore()
        guard let handle = mysql_init(nil) else {
            throw MySQLError(.connectionFailed, "cannot allocate a MySQL handle")
        }
        let server = servers.endpoints[index]
        var connectTimeout = UInt32(max(1, configuration.connectTimeout.components.seconds))
        var ioTimeout = UInt32(max(1, configuration.ioTimeout.components.seconds))
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &ioTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &ioTimeout)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        if configuration.tls {
            var enforce: CChar = 1
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &enforce)
            if let ca = configuration.tlsCAPath {
                mysql_options(handle, MYSQL_OPT_SSL_CA, ca)
                var verify: CChar = 1
                mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify)
            }
        }
        // With a socket, "localhost" makes Connector/C take it (any other host means TCP).
        let connected = mysql_real_connect(
            handle, configuration.unixSocket == nil ? server.host : "localhost", configuration.user, configuration.password,
            configuration.database, UInt32(server.port ?? 3306), configuration.unixSocket, 0
        )
        if connected == nil {
            let error = MySQLStatement.connectionError(handle)
            mysql_close(handle)
            throw MySQLError(.connectionFailed, code: error.code, sqlState: error.sqlState, "\(server): \(error.message)")
        }
        self.handle = handle
        self.tls = configuration.tls
        do {
            // Timestamps are stored and read as UTC.
            _ = try self.execute("SET time_zone = '+00:00'", [], cached: false)
            if let wait = configuration.wsrepSyncWait {
                _ = try self.execute("SET SESSION wsrep_sync_wait = ?", [.int(Int64(wait))], cached: false)
            }
            // A cluster member that lost its quorum (or is still joining)
            // accepts connections but refuses statements (1047): try the next.
            if servers.isCluster { _ = try self.execute("SELECT 1", [], cached: false) }
        } catch {
            mysql_close(handle)
            throw MySQLError(.connectionFailed, code: error.code, sqlState: error.sqlState, "\(server): \(error.message)")
        }
    }

    func close() {
        self.statements.removeAll()
        mysql_close(self.handle)
    }

    func execute(_ sql: String, _ binds: [MySQLValue], cached: Bool = true) throws(MySQLError) -> MySQLResult {
        if self.failed { throw MySQLError(.connectionLost, "connection is broken") }
        do {
            if !cached {
                return try MySQLStatement(connection: self.handle, sql: sql).execute(binds)
            }
            return try self.statement(for: sql).execute(binds)
        } catch {
            if error.kind == .connectionLost { self.failed = true }
            throw error
        }
    }

    func begin() throws(MySQLError) {
        // Prepared once per connection: uncached, every transaction paid a
        // prepare (a round trip) and a close for its first statement.
        _ = try self.execute("START TRANSACTION", [])
    }

    func commit() throws(MySQLError) {
        try self.check(mysql_commit(self.handle) == 0)
    }

    func rollback() throws(MySQLError) {
        try self.check(mysql_rollback(self.handle) == 0)
    }

    private func check(_ succeeded: Bool) throws(MySQLError) {
        if succeeded { return }
        let error = MySQLStatement.connectionError(self.handle)
        if error.kind == .connectionLost { self.failed = true }
        throw error
    }

    private func statement(for sql: String) throws(MySQLError) -> MySQLStatement {
        if let statement = self.statements[sql] { return statement }
        let statement = try MySQLStatement(connection: self.handle, sql: sql)
        // Statement texts are our own and few; a full cache only means a burst
        // of generated batch shapes, so starting over is cheap and bounded.
        if self.statements.count >= Self.statementCacheLimit { self.statements.removeAll() }
        self.statements[sql] = statement
        return statement
    }
}

import BatonPool
import CMariaDB

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
    private(set) var isBroken = false

    init(configuration: MySQLConfiguration) throws(MySQLError) {
        _ = Self.libraryInitialized
        BrokenPipe.ignore()
        guard let handle = mysql_init(nil) else {
            throw MySQLError(.connectionFailed, "cannot allocate a MySQL handle")
        }
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
        let connected = mysql_real_connect(
            handle, configuration.host, configuration.user, configuration.password,
            configuration.database, UInt32(configuration.port), nil, 0
        )
        if connected == nil {
            let error = MySQLStatement.connectionError(handle)
            mysql_close(handle)
            throw MySQLError(.connectionFailed, code: error.code, sqlState: error.sqlState, "\(configuration.host):\(configuration.port): \(error.message)")
        }
        self.handle = handle
        // Timestamps are stored and read as UTC.
        _ = try self.execute("SET time_zone = '+00:00'", [], cached: false)
    }

    func close() {
        self.statements.removeAll()
        mysql_close(self.handle)
    }

    func execute(_ sql: String, _ binds: [MySQLValue], cached: Bool = true) throws(MySQLError) -> MySQLResult {
        if self.isBroken { throw MySQLError(.connectionLost, "connection is broken") }
        do {
            if !cached {
                return try MySQLStatement(connection: self.handle, sql: sql).execute(binds)
            }
            return try self.statement(for: sql).execute(binds)
        } catch {
            if error.kind == .connectionLost { self.isBroken = true }
            throw error
        }
    }

    func begin() throws(MySQLError) {
        _ = try self.execute("START TRANSACTION", [], cached: false)
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
        if error.kind == .connectionLost { self.isBroken = true }
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

import BatonPool
import Logging

/// An async MySQL/MariaDB client over Connector/C with a bounded pool.
///
/// Statements run on the pool's dedicated threads as prepared statements,
/// cached per connection. A call that hits a lost connection throws
/// `MySQLError` of kind `.connectionLost`; the next call reconnects.
public final class MySQLClient: Sendable {
    public let configuration: MySQLConfiguration
    private let pool: BlockingConnectionPool<MySQLConnection>
    private let logger: Logger

    public init(configuration: MySQLConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let servers = MySQLServers(configuration)
        self.pool = BlockingConnectionPool(maxConnections: configuration.maxConnections, acquireTimeout: configuration.acquireTimeout) {
            try MySQLConnection(configuration: configuration, servers: servers)
        }
    }

    public convenience init(url: String, logger: Logger) throws {
        self.init(configuration: try MySQLConfiguration(url: url), logger: logger)
    }

    /// Runs one statement on its own (autocommit). A deadlock or lock wait
    /// timeout rolled the statement back whole, so it is run again, up to
    /// `transientRetries` times: batched writes of busy workers meet such
    /// conflicts now and then, and they must not surface as failures.
    @discardableResult
    public func execute(_ sql: String, _ binds: [MySQLValue] = []) async throws -> MySQLResult {
        try await self.retryingLockConflicts {
            try await self.withSession { session in try await session.execute(sql, binds) }
        }
    }

    /// Runs `body` again after a deadlock or lock wait timeout (which rolled
    /// back what it did), up to `transientRetries` times.
    private func retryingLockConflicts<T>(_ body: () async throws -> T) async throws -> T {
        var retries = 0
        while true {
            do {
                return try await body()
            } catch let error as MySQLError where error.kind == .transient && retries < Self.transientRetries {
                retries += 1
                self.logger.debug("retried after a lock conflict", metadata: ["error": "\(error)", "retry": "\(retries)"])
                try await Task.sleep(for: .milliseconds(retries * retries))
            }
        }
    }

    static let transientRetries = 5

    /// Rows of a SELECT.
    public func query(_ sql: String, _ binds: [MySQLValue] = []) async throws -> [MySQLRow] {
        try await self.execute(sql, binds).rows
    }

    @discardableResult
    public func insertRows(
        into table: String,
        columns: [String],
        rows: [[MySQLValue]],
        suffix: String = ""
    ) async throws -> UInt64 {
        let statements = try MultiRowInsert.statements(into: table, columns: columns, rows: rows, suffix: suffix)
        // One statement is atomic on its own; several need a transaction.
        if statements.count == 1 { return try await self.execute(statements[0].sql, statements[0].binds).affectedRows }
        return try await self.withTransaction { session in try await session.run(statements) }
    }

    /// Holds one connection for several statements, outside a transaction.
    public func withSession<T>(_ body: (MySQLSession) async throws -> T) async throws -> T {
        do {
            return try await self.pool.withLease { lease in try await body(MySQLSession(lease: lease)) }
        } catch {
            throw Self.typed(error)
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back
    /// when it throws. A deadlock or lock wait timeout rolled the whole
    /// transaction back, so `body` runs again from the start (as `execute`
    /// does for one statement, up to `transientRetries` times): `body` must
    /// read what it decides on inside the transaction, never before.
    @discardableResult
    public func withTransaction<T>(_ body: (MySQLSession) async throws -> T) async throws -> T {
        try await self.retryingLockConflicts { try await self.transactionOnce(body) }
    }

    /// Runs `body` as one transaction in a single trip to a connection's
    /// thread: START TRANSACTION, its statements and COMMIT without a hop
    /// between (a hot path pays one hop, and holds its row locks no longer
    /// than the statements take). `body` runs synchronously on that thread
    /// and may decide on one statement's answer before the next. Retried
    /// whole on a deadlock or lock wait timeout.
    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (MySQLTrip) throws -> T) async throws -> T {
        try await self.retryingLockConflicts {
            try await self.withSession { session in
                try await session.run { connection in
                    try connection.begin()
                    do {
                        let result = try body(MySQLTrip(connection: connection))
                        try connection.commit()
                        return result
                    } catch {
                        try? connection.rollback()
                        throw error
                    }
                }
            }
        }
    }

    private func transactionOnce<T>(_ body: (MySQLSession) async throws -> T) async throws -> T {
        do {
            return try await self.pool.withLease { lease in
                let session = MySQLSession(lease: lease)
                try await session.run { connection in try connection.begin() }
                let result: T
                do {
                    result = try await body(session)
                } catch {
                    // A lost connection rolls back on the server by itself.
                    try? await session.run { connection in try connection.rollback() }
                    throw error
                }
                try await session.run { connection in try connection.commit() }
                return result
            }
        } catch let error as MySQLError {
            throw error
        } catch is PoolClosedError {
            throw MySQLError(.closed, "client is shut down")
        } catch let error as PoolBusyError {
            throw MySQLError(.busy, error.description)
        }
    }

    /// True when a trivial query succeeds (readiness checks).
    public func ping() async -> Bool {
        (try? await self.execute("SELECT 1")) != nil
    }

    public func shutdown() async throws {
        try await self.pool.shutdown()
    }

    static func typed(_ error: any Error) -> MySQLError {
        switch error {
        case let error as MySQLError: error
        case is PoolClosedError: MySQLError(.closed, "client is shut down")
        case let error as PoolBusyError: MySQLError(.busy, error.description)
        case is CancellationError: MySQLError(.closed, "cancelled")
        default: MySQLError(.connectionLost, "\(error)")
        }
    }
}

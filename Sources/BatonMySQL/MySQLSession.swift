import BatonPool

/// One connection held for several statements (a transaction or a batch).
public struct MySQLSession: Sendable {
    let lease: BlockingConnectionPool<MySQLConnection>.Lease

    /// Runs one prepared statement (cached per connection).
    @discardableResult
    public func execute(_ sql: String, _ binds: [MySQLValue] = []) async throws -> MySQLResult {
        try await self.run { connection in try connection.execute(sql, binds) }
    }

    /// Runs a statement without caching it (one-off DDL, migrations).
    @discardableResult
    public func executeOnce(_ sql: String, _ binds: [MySQLValue] = []) async throws -> MySQLResult {
        try await self.run { connection in try connection.execute(sql, binds, cached: false) }
    }

    /// Inserts many rows with multi-row `INSERT … VALUES (…),(…)` statements.
    /// `suffix` is appended to each statement (e.g. `ON DUPLICATE KEY UPDATE …`).
    /// Returns the affected rows summed over the statements.
    @discardableResult
    public func insertRows(
        into table: String,
        columns: [String],
        rows: [[MySQLValue]],
        suffix: String = ""
    ) async throws -> UInt64 {
        try await self.run(MultiRowInsert.statements(into: table, columns: columns, rows: rows, suffix: suffix))
    }

    /// Runs statements one after the other in one trip to the connection's thread.
    func run(_ statements: [(sql: String, binds: [MySQLValue])]) async throws -> UInt64 {
        try await self.run { connection in
            var affected: UInt64 = 0
            for statement in statements {
                affected += try connection.execute(statement.sql, statement.binds).affectedRows
            }
            return affected
        }
    }

    func run<T: Sendable>(
        _ body: @escaping @Sendable (MySQLConnection) throws -> T
    ) async throws -> T {
        do {
            return try await self.lease.run { connection in try body(connection) }
        } catch {
            throw MySQLClient.typed(error)
        }
    }
}

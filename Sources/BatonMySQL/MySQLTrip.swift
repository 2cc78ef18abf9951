/// Statements of a transaction that runs in one trip to a connection's
/// thread (`MySQLClient.transaction`): synchronous, valid only inside it.
public struct MySQLTrip {
    let connection: MySQLConnection

    /// Runs one prepared statement (cached per connection).
    @discardableResult
    public func execute(_ sql: String, _ binds: [MySQLValue] = []) throws(MySQLError) -> MySQLResult {
        try self.connection.execute(sql, binds)
    }

    /// Inserts many rows with multi-row statements, as `MySQLSession.insertRows`.
    @discardableResult
    public func insertRows(into table: String, columns: [String], rows: [[MySQLValue]], suffix: String = "") throws(MySQLError) -> UInt64 {
        var affected: UInt64 = 0
        for statement in try MultiRowInsert.statements(into: table, columns: columns, rows: rows, suffix: suffix) {
            affected += try self.connection.execute(statement.sql, statement.binds).affectedRows
        }
        return affected
    }
}

/// Statements of a transaction that runs in one trip to a connection's
/// thread (`MySQLClient.transaction`): synchronous, valid only inside it.
public struct MySQLTrip {
    let connection: MySQLConnection

    /// Runs one prepared statement (cached per connection).
    @discardableResult
    public func execute(_ sql: String, _ binds: [MySQLValue] = []) throws(MySQLError) -> MySQLResult {
        try self.connection.execute(sql, binds)
    }
}

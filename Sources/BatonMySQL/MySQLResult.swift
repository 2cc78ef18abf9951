/// What one statement returned.
public struct MySQLResult: Sendable {
    public var rows: [MySQLRow]
    public var affectedRows: UInt64
    /// The first generated AUTO_INCREMENT value of an INSERT (the first row's of a multi-row insert).
    public var lastInsertID: UInt64
}

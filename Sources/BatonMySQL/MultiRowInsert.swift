/// Builds multi-row INSERT statements, split to respect MySQL's placeholder limit.
enum MultiRowInsert {
    /// Most rows per statement; chunk sizes are powers of two up to this, so
    /// a table's inserts take at most seven statement texts. Larger chunks
    /// saved little time and cost memory: Connector/C keeps a bind array per
    /// prepared statement (112 bytes a value), cached on every connection.
    static let maxRowsPerStatement = 64
    static let maxPlaceholders = 65_535

    static func statements(
        into table: String,
        columns: [String],
        rows: [[MySQLValue]],
        suffix: String
    ) throws(MySQLError) -> [(sql: String, binds: [MySQLValue])] {
        guard Self.isIdentifier(table), !columns.isEmpty, columns.allSatisfy(Self.isIdentifier) else {
            throw MySQLError(.misuse, "table and column names must be plain identifiers")
        }
        guard rows.allSatisfy({ $0.count == columns.count }) else {
            throw MySQLError(.misuse, "every row needs \(columns.count) values")
        }
        var limit = Self.maxRowsPerStatement
        while limit > 1 && limit * columns.count > Self.maxPlaceholders { limit /= 2 }
        let head = "INSERT INTO `\(table)` (\(columns.map { "`\($0)`" }.joined(separator: ", "))) VALUES "
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var start = 0
        return StatementShape.chunks(of: rows.count, limit: limit).map { size in
            defer { start += size }
            let chunk = rows[start..<start + size]
            let sql = head + Array(repeating: tuple, count: size).joined(separator: ", ") + (suffix.isEmpty ? "" : " " + suffix)
            return (sql, chunk.flatMap { $0 })
        }
    }

    private static func isIdentifier(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }
    }
}

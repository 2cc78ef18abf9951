/// Builds multi-row INSERT statements, split to respect MySQL's placeholder limit.
enum MultiRowInsert {
    /// Rows per statement. Few distinct shapes keep the statement cache small:
    /// full chunks share one text, only the last chunk differs.
    static let maxRowsPerStatement = 1000
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
        let chunkSize = min(Self.maxRowsPerStatement, Self.maxPlaceholders / columns.count)
        let head = "INSERT INTO `\(table)` (\(columns.map { "`\($0)`" }.joined(separator: ", "))) VALUES "
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        return stride(from: 0, to: rows.count, by: chunkSize).map { start in
            let chunk = rows[start..<min(start + chunkSize, rows.count)]
            let sql = head + Array(repeating: tuple, count: chunk.count).joined(separator: ", ") + (suffix.isEmpty ? "" : " " + suffix)
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

/// Builds multi-row INSERT statements, split to respect MySQL's placeholder
/// limit and, by bytes, well below `max_allowed_packet` (16 MiB by default):
/// rows of several callers share statements, and one caller's large rows
/// must never make the statement that carries another's fail.
enum MultiRowInsert {
    /// Most rows per statement; chunk sizes are powers of two up to this, so
    /// a table's inserts take at most seven statement texts. Larger chunks
    /// saved little time and cost memory: Connector/C keeps a bind array per
    /// prepared statement (112 bytes a value), cached on every connection.
    static let maxRowsPerStatement = 64
    static let maxPlaceholders = 65_535
    /// Most bytes of values in one statement (a row larger than this goes alone).
    static let maxStatementBytes = 4 << 20

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
        let tuple = "(" + StatementShape.repeated("?", count: columns.count) + ")"
        var statements: [(sql: String, binds: [MySQLValue])] = []
        var start = 0
        for run in Self.runs(rows, maxBytes: Self.maxStatementBytes) {
            for size in StatementShape.chunks(of: run, limit: limit) {
                let chunk = rows[start..<start + size]
                let sql = head + StatementShape.repeated(tuple, count: size) + (suffix.isEmpty ? "" : " " + suffix)
                statements.append((sql, chunk.flatMap { $0 }))
                start += size
            }
        }
        return statements
    }

    /// Lengths of consecutive runs of rows whose values stay within
    /// `maxBytes` together (a row larger than that is a run of its own).
    static func runs(_ rows: [[MySQLValue]], maxBytes: Int) -> [Int] {
        var runs: [Int] = []
        var count = 0
        var bytes = 0
        for row in rows {
            let size = row.reduce(0) { $0 + $1.wireBytes }
            if count > 0 && bytes + size > maxBytes {
                runs.append(count)
                count = 0
                bytes = 0
            }
            count += 1
            bytes += size
        }
        if count > 0 { runs.append(count) }
        return runs
    }

    private static func isIdentifier(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }
    }
}

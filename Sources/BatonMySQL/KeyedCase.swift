import Synchronization

/// A value per row in one batch statement: `CASE key WHEN ? THEN ? … END`
/// over the rows' keys. MariaDB evaluates a simple CASE by comparing the
/// row's key with each arm in turn, so a list of n arms costs it n/2
/// comparisons per row, n²/2 per statement (with 128 rows, ~17,000
/// instructions per row under `make bench-cost`). When every key sorts in
/// MariaDB as its bytes do, the arms are laid out as a search tree instead:
/// `CASE WHEN key < ? THEN <lower half> ELSE <upper half> END`, down to
/// leaves of a few arms, log₂ n comparisons per row.
///
/// The text depends only on how many arms there are (a power of two, from
/// `StatementShape.padded`) and on which form is used, so a batch statement
/// keeps a few shapes.
public enum KeyedCase {
    /// Arms per leaf of the tree: below this many a plain list is as cheap.
    static let leafSize = 8

    /// The tree's text by column and arm count: it depends on nothing else,
    /// and a batch statement asks for the same few sizes again and again.
    private static let trees = Mutex([TreeShape: String]())

    private struct TreeShape: Hashable {
        let column: String
        let count: Int
    }

    /// `CASE` over `keys` (already padded to their shape) giving
    /// `values[i]` for `keys[i]`; one `?` when every row takes the same
    /// value. A key given twice takes either value: the padding repeats a
    /// row whole.
    public static func sql(column: String, keys: [String], values: [MySQLValue]) -> (sql: String, binds: [MySQLValue]) {
        precondition(keys.count == values.count, "a value per key")
        if let first = values.first, values.allSatisfy({ $0 == first }) { return ("?", [first]) }
        guard keys.count > Self.leafSize, keys.allSatisfy(Self.sortsAsBytes) else {
            return (Self.list(column: column, count: keys.count), zip(keys, values).flatMap { [MySQLValue.string($0), $1] })
        }
        // ASCII strings compare by their bytes in Swift too.
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        var binds: [MySQLValue] = []
        binds.reserveCapacity(keys.count * 2 + keys.count / Self.leafSize)
        Self.treeBinds(order[...], keys: keys, values: values, into: &binds)
        let shape = TreeShape(column: column, count: keys.count)
        if let sql = Self.trees.withLock({ $0[shape] }) { return (sql, binds) }
        var sql = ""
        Self.treeText(column: column, count: keys.count, into: &sql)
        Self.trees.withLock { $0[shape] = sql }
        return (sql, binds)
    }

    /// A key whose every byte is printable ASCII above the space compares in
    /// a binary or ASCII collation (PAD SPACE included: a shorter key is
    /// padded with spaces, which sort below every such byte) as its bytes do
    /// in Swift. Any other key gets the plain list, which only tests equality.
    static func sortsAsBytes(_ key: String) -> Bool {
        key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    private static func list(column: String, count: Int) -> String {
        "CASE \(column)" + String(repeating: " WHEN ? THEN ?", count: count) + " END"
    }

    /// `CASE WHEN column < ? THEN <lower half> ELSE <upper half> END` down to
    /// leaves of `leafSize` arms; a key equal to the pivot goes to the upper
    /// half, which holds it.
    private static func treeText(column: String, count: Int, into sql: inout String) {
        guard count > Self.leafSize else { return sql += Self.list(column: column, count: count) }
        sql += "CASE WHEN \(column) < ? THEN "
        Self.treeText(column: column, count: count / 2, into: &sql)
        sql += " ELSE "
        Self.treeText(column: column, count: count - count / 2, into: &sql)
        sql += " END"
    }

    /// The binds of `treeText`, in its order: each pivot, then its halves.
    private static func treeBinds(_ order: ArraySlice<Int>, keys: [String], values: [MySQLValue], into binds: inout [MySQLValue]) {
        guard order.count > Self.leafSize else {
            for index in order { binds += [.string(keys[index]), values[index]] }
            return
        }
        let middle = order.startIndex + order.count / 2
        binds.append(.string(keys[order[middle]]))
        Self.treeBinds(order[..<middle], keys: keys, values: values, into: &binds)
        Self.treeBinds(order[middle...], keys: keys, values: values, into: &binds)
    }
}

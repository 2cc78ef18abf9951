/// Batch statements in a few shapes only. A statement's text depends on how
/// many rows or ids it carries; were every count its own text, each new count
/// would cost a prepare (a parse and a round trip) and crowd the statement
/// cache. Counts are rounded up to a power of two instead.
public enum StatementShape {
    /// The power of two at or above `count` (0 stays 0).
    public static func size(for count: Int) -> Int {
        count <= 1 ? count : 1 << (Int.bitWidth - (count - 1).leadingZeroBitCount)
    }

    /// `items` grown to its shape's size by repeating the last item: for
    /// `IN (…)` lists and `CASE … WHEN` arms, where a repeat changes nothing.
    public static func padded<Item>(_ items: [Item]) -> [Item] {
        guard let last = items.last else { return items }
        return items + Array(repeating: last, count: Self.size(for: items.count) - items.count)
    }

    /// `unit` written `count` times with `separator` between: the
    /// placeholder lists of batch statements. `String(repeating:)` copies
    /// bytes; joining an array of `count` strings cost ~30,000 instructions
    /// for a list of 256 (a few percent of the node's work per task).
    public static func repeated(_ unit: String, count: Int, separator: String = ", ") -> String {
        count <= 0 ? "" : unit + String(repeating: separator + unit, count: count - 1)
    }

    /// Splits `count` rows into chunks whose sizes are powers of two, none
    /// above `limit` (a power of two), largest first: for multi-row INSERTs,
    /// which cannot repeat a row.
    public static func chunks(of count: Int, limit: Int) -> [Int] {
        var sizes: [Int] = []
        var left = count
        while left > 0 {
            let size = min(limit, 1 << (Int.bitWidth - 1 - left.leadingZeroBitCount))
            sizes.append(size)
            left -= size
        }
        return sizes
    }
}

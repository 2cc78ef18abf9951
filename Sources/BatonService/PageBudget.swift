/// What one page of a list may hold: at most `maxRows` rows and, past the
/// first row, at most `maxBytes` of them, so a page of large tasks stays
/// under what clients accept in one message (gRPC's default is 4 MiB).
/// Rows are read in chunks sized from the rows seen so far, so large rows
/// are never read by the hundred only to be left out.
struct PageBudget {
    let maxRows: Int
    let maxBytes: Int
    /// Rows asked for first: few, since they may be megabytes each (a page
    /// of small rows then takes the rest in one more read).
    static let firstChunk = 8

    private(set) var rows = 0
    private(set) var bytes = 0

    init(maxRows: Int, maxBytes: Int) {
        self.maxRows = maxRows
        self.maxBytes = maxBytes
    }

    /// Takes a row of `size` bytes if it fits; the first row always does
    /// (a page holds at least one row, however large).
    mutating func take(_ size: Int) -> Bool {
        guard self.rows < self.maxRows, self.rows == 0 || self.bytes + size <= self.maxBytes else { return false }
        self.rows += 1
        self.bytes += size
        return true
    }

    var isFull: Bool { self.rows >= self.maxRows }

    /// How many rows to read next: what the bytes left would hold at the
    /// average size so far (plus one, to learn whether the page is full),
    /// never more than the rows left.
    var nextChunk: Int {
        let left = self.maxRows - self.rows
        guard self.rows > 0 else { return min(left, Self.firstChunk) }
        let average = max(1, self.bytes / self.rows)
        return max(1, min(left, (self.maxBytes - self.bytes) / average + 1))
    }

    /// Reads one page in chunks (`read(after, limit)` returns rows past the
    /// last one kept) until it is full by rows or bytes; `more` says whether
    /// rows remain past it.
    static func collect<Row>(
        maxRows: Int,
        maxBytes: Int,
        size: (Row) -> Int,
        read: (_ after: Row?, _ limit: Int) async throws -> [Row]
    ) async throws -> (rows: [Row], more: Bool) {
        var budget = PageBudget(maxRows: maxRows, maxBytes: maxBytes)
        var page: [Row] = []
        while true {
            let want = budget.nextChunk
            let chunk = try await read(page.last, want + 1)
            for row in chunk.prefix(want) {
                guard budget.take(size(row)) else { return (page, true) }
                page.append(row)
            }
            let more = chunk.count > want
            if !more || budget.isFull { return (page, more) }
        }
    }
}

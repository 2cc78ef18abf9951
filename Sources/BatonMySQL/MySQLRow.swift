import Foundation
import Synchronization

/// One result row; columns are read by name and type.
public struct MySQLRow: Sendable {
    let columns: MySQLColumns
    public let values: [MySQLValue]

    public subscript(_ column: String) -> MySQLValue {
        guard let index = self.columns.position(of: column) else { return .null }
        return self.values[index]
    }

    public func string(_ column: String) -> String? {
        switch self[column] {
        case .string(let value): value
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        case .int(let value): String(value)
        case .double(let value): String(value)
        default: nil
        }
    }

    public func int(_ column: String) -> Int? {
        self.int64(column).map { Int($0) }
    }

    public func int64(_ column: String) -> Int64? {
        switch self[column] {
        case .int(let value): value
        case .bool(let value): value ? 1 : 0
        case .string(let text): Int64(text)
        default: nil
        }
    }

    public func double(_ column: String) -> Double? {
        switch self[column] {
        case .double(let value): value
        case .int(let value): Double(value)
        case .string(let text): Double(text)
        default: nil
        }
    }

    public func bool(_ column: String) -> Bool? {
        switch self[column] {
        case .bool(let value): value
        case .int(let value): value != 0
        default: nil
        }
    }

    public func bytes(_ column: String) -> [UInt8]? {
        switch self[column] {
        case .bytes(let bytes): bytes
        case .string(let text): Array(text.utf8)
        default: nil
        }
    }

    public func date(_ column: String) -> Date? {
        if case .date(let date) = self[column] { return date }
        return nil
    }
}

/// Column names of a result, shared by all its rows.
final class MySQLColumns: Sendable {
    let names: [String]
    let index: [String: Int]
    /// No name repeats: the positional guess below may answer.
    private let unique: Bool
    /// Where the last lookup found its column. Readers mostly ask for the
    /// columns in the order the SELECT names them, so the one after it is
    /// tried before the name is hashed: a hashed lookup costs ~400
    /// instructions, and a task read asks for ~30 columns. Only a guess
    /// (racing readers of one result leave it wrong, never the answer).
    private let last = Atomic<Int>(-1)

    init(names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
        self.index = index
        self.unique = index.count == names.count
    }

    /// The position of `column`, nil when the result has none.
    func position(of column: String) -> Int? {
        let next = self.last.load(ordering: .relaxed) &+ 1
        if self.unique, next >= 0, next < self.names.count, self.names[next] == column {
            self.last.store(next, ordering: .relaxed)
            return next
        }
        guard let found = self.index[column] else { return nil }
        self.last.store(found, ordering: .relaxed)
        return found
    }
}

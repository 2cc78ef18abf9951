import Foundation

/// A value bound to a statement parameter or read from a result column.
public enum MySQLValue: Sendable, Hashable {
    case null
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case bytes([UInt8])
    /// DATETIME(6) in UTC, microsecond precision.
    case date(Date)
}

extension MySQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension MySQLValue {
    public init(_ value: String?) { self = value.map(MySQLValue.string) ?? .null }
    public init(_ value: Int?) { self = value.map { .int(Int64($0)) } ?? .null }
    public init(_ value: Int32?) { self = value.map { .int(Int64($0)) } ?? .null }
    public init(_ value: Date?) { self = value.map(MySQLValue.date) ?? .null }
}

extension MySQLValue {
    /// About what the value takes in a statement's packet.
    var wireBytes: Int {
        switch self {
        case .string(let string): string.utf8.count + 9
        case .bytes(let bytes): bytes.count + 9
        default: 9
        }
    }
}

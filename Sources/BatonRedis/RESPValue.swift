/// A reply from Redis (RESP2, as hiredis 0.14 speaks it).
public enum RESPValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case bulk([UInt8])
    case status(String)
    case error(String)
    case array([RESPValue])
}

extension RESPValue {
    /// The bulk or status reply as UTF-8 text.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// Integer replies, and bulk replies holding a decimal integer.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Throws `RedisError.server` for an error reply; returns the reply otherwise.
    @discardableResult
    public func checked() throws(RedisError) -> RESPValue {
        if case .error(let message) = self { throw RedisError(.server, message) }
        return self
    }
}

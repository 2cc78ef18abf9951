/// A Lua script known by name; it runs with EVALSHA and is loaded on NOSCRIPT.
public struct RedisScript: Sendable, Hashable {
    public let name: String
    public let source: String
    /// Hex SHA-1 of `source`, as Redis names scripts.
    public let sha1: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
        self.sha1 = SHA1.hex(of: Array(source.utf8))
    }
}

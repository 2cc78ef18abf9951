/// A value that can be sent as one binary-safe Redis argument.
public protocol RedisArgumentConvertible: Sendable {
    var redisArgument: [UInt8] { get }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(self.utf8) }
}

extension Substring: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(self.utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: [UInt8] { self }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

/// One command: its name and arguments, binary-safe.
public struct RedisCommand: Sendable {
    public var arguments: [[UInt8]]
    /// Set for EVALSHA commands, so that a NOSCRIPT reply can load the script and retry.
    public var script: RedisScript?

    public init(_ name: String, _ arguments: [any RedisArgumentConvertible]) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.redisArgument)
    }

    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.init(name, arguments)
    }

    /// EVALSHA of a named script.
    public init(
        script: RedisScript,
        keys: [any RedisArgumentConvertible],
        arguments: [any RedisArgumentConvertible]
    ) {
        self.init("EVALSHA", [script.sha1, keys.count] + keys + arguments)
        self.script = script
    }

    /// EVALSHA of a named script whose keys and arguments are bytes already:
    /// a caller that sends the same long lists round after round keeps them
    /// encoded (the broker's key roster) instead of boxing and copying each.
    public init(script: RedisScript, encodedKeys keys: [[UInt8]], encodedArguments arguments: [[UInt8]]) {
        self.arguments = [Array("EVALSHA".utf8), script.sha1.redisArgument, keys.count.redisArgument] + keys + arguments
        self.script = script
    }
}

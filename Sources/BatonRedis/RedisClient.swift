import BatonPool
import Logging

/// An async Redis client over hiredis with a bounded connection pool.
///
/// Calls run on the pool's dedicated threads. A call that hits a broken
/// connection throws a `RedisError` (`connectionLost`, `timeout`); the broken
/// connection is dropped and the next call reconnects (in Sentinel mode, to
/// the master the Sentinels name then).
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let pool: BlockingConnectionPool<RedisConnection>
    private let logger: Logger

    public init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pool = BlockingConnectionPool(maxConnections: configuration.maxConnections, acquireTimeout: configuration.acquireTimeout) {
            try RedisConnection.open(configuration: configuration, logger: logger)
        }
    }

    public convenience init(url: String, logger: Logger) throws(RedisError) {
        self.init(configuration: try RedisConfiguration(url: url), logger: logger)
    }

    /// Sends one command. An error reply throws `RedisError` of kind `.server`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await self.call { connection in try connection.send(command) }.checked()
    }

    @discardableResult
    public func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws(RedisError) -> RESPValue {
        try await self.send(RedisCommand(name, arguments))
    }

    /// Sends all commands in one round trip; replies come back in order, error
    /// replies as `.error` values.
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await self.call { connection in try connection.pipeline(commands) }
    }

    /// Runs a named script with EVALSHA, loading it on NOSCRIPT.
    @discardableResult
    public func run(
        _ script: RedisScript,
        keys: [any RedisArgumentConvertible] = [],
        arguments: [any RedisArgumentConvertible] = []
    ) async throws(RedisError) -> RESPValue {
        try await self.send(RedisCommand(script: script, keys: keys, arguments: arguments))
    }

    /// Runs `body` with a connection of its own, outside the pool, for blocking
    /// commands (BLMOVE, BRPOP) that would otherwise hold a pooled connection.
    public func withBlockingConnection<T>(
        _ body: (RedisBlockingConnection) async throws -> T
    ) async throws -> T {
        let connection = RedisBlockingConnection(configuration: self.configuration, logger: self.logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    public func shutdown() async throws {
        try await self.pool.shutdown()
    }

    private func call<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws(RedisError) -> T {
        do {
            return try await self.pool.withConnection(body)
        } catch {
            throw Self.typed(error)
        }
    }

    static func typed(_ error: any Error) -> RedisError {
        switch error {
        case let error as RedisError: error
        case is PoolClosedError: RedisError(.closed, "client is shut down")
        case let error as PoolBusyError: RedisError(.busy, error.description)
        case is CancellationError: RedisError(.closed, "cancelled")
        default: RedisError(.connectionLost, "\(error)")
        }
    }
}

import BatonPool
import Logging

/// A connection reserved for one caller that issues blocking commands.
///
/// It has a pool of its own with a single connection and thread, so a BLMOVE
/// waiting for work never holds up other Redis calls. After a broken
/// connection, the next call reconnects.
public final class RedisBlockingConnection: Sendable {
    private let pool: BlockingConnectionPool<RedisConnection>
    private let commandTimeout: Duration

    init(configuration: RedisConfiguration, logger: Logger) {
        self.commandTimeout = configuration.commandTimeout
        self.pool = BlockingConnectionPool(maxConnections: 1) {
            try RedisConnection.open(configuration: configuration, logger: logger)
        }
    }

    /// Sends a command that may block server-side for up to `blockingFor`; the
    /// socket read timeout is stretched to cover it.
    public func send(_ command: RedisCommand, blockingFor: Duration = .zero) async throws(RedisError) -> RESPValue {
        let timeout = blockingFor + self.commandTimeout
        do {
            return try await self.pool.withConnection { connection in
                try connection.send(command, timeout: timeout)
            }.checked()
        } catch {
            throw RedisClient.typed(error)
        }
    }

    /// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`: the moved
    /// element, or nil when the timeout passed.
    public func blmove(
        from source: String,
        to destination: String,
        sourceEnd: ListEnd = .left,
        destinationEnd: ListEnd = .right,
        timeout: Duration
    ) async throws(RedisError) -> [UInt8]? {
        let reply = try await self.send(
            RedisCommand("BLMOVE", source, destination, sourceEnd.rawValue, destinationEnd.rawValue, Self.seconds(timeout)),
            blockingFor: timeout
        )
        return reply.bytes
    }

    /// `BRPOP key… timeout`: the key and element popped, or nil on timeout.
    public func brpop(_ keys: [String], timeout: Duration) async throws(RedisError) -> (key: String, value: [UInt8])? {
        let reply = try await self.send(RedisCommand("BRPOP", keys + [Self.seconds(timeout)]), blockingFor: timeout)
        guard let pair = reply.array, pair.count == 2, let key = pair[0].string, let value = pair[1].bytes else { return nil }
        return (key, value)
    }

    func close() async throws {
        try await self.pool.shutdown()
    }

    private static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return String(Double(millis) / 1000)
    }

    public enum ListEnd: String, Sendable {
        case left = "LEFT"
        case right = "RIGHT"
    }
}

import BatonRedis

/// The broker's Redis client: every pooled call of the broker goes through
/// it, so a driver error becomes a `BrokerError` here and nowhere else.
struct BrokerRedis: Sendable {
    let client: RedisClient

    @discardableResult
    func send(_ command: RedisCommand) async throws(BrokerError) -> RESPValue {
        do { return try await self.client.send(command) } catch { throw BrokerError(error) }
    }

    @discardableResult
    func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws(BrokerError) -> RESPValue {
        try await self.send(RedisCommand(name, arguments))
    }

    /// All commands in one round trip; error replies come back as `.error` values.
    func pipeline(_ commands: [RedisCommand]) async throws(BrokerError) -> [RESPValue] {
        do { return try await self.client.pipeline(commands) } catch { throw BrokerError(error) }
    }

    /// All commands in one round trip; the first error reply throws.
    @discardableResult
    func pipelineChecked(_ commands: [RedisCommand]) async throws(BrokerError) -> [RESPValue] {
        let replies = try await self.pipeline(commands)
        do {
            for reply in replies { try reply.checked() }
        } catch {
            throw BrokerError(error)
        }
        return replies
    }

    @discardableResult
    func run(
        _ script: RedisScript, keys: [any RedisArgumentConvertible] = [], arguments: [any RedisArgumentConvertible] = []
    ) async throws(BrokerError) -> RESPValue {
        try await self.send(RedisCommand(script: script, keys: keys, arguments: arguments))
    }

    /// Runs `body` with a connection of its own (for blocking reads), closed after.
    func withBlockingConnection<T>(_ body: (RedisBlockingConnection) async throws -> T) async throws -> T {
        try await self.client.withBlockingConnection(body)
    }
}

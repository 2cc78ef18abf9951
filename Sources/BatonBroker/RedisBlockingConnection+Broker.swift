import BatonRedis

extension RedisBlockingConnection {
    /// A command that may block server-side up to `blockingFor`, its error a `BrokerError`.
    func call(_ command: RedisCommand, blockingFor: Duration = .zero) async throws(BrokerError) -> RESPValue {
        do { return try await self.send(command, blockingFor: blockingFor) } catch { throw BrokerError(error) }
    }

    /// BLPOP on a wake list: timeout 0 would block for ever, so it is at least a millisecond.
    func waitOnWakeList(_ key: String, timeout: Duration) async throws(BrokerError) {
        let wait = max(timeout, .milliseconds(1))
        _ = try await self.call(RedisCommand("BLPOP", key, String(Double(wait.wholeMilliseconds) / 1000)), blockingFor: wait)
    }
}

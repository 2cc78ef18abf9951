import BatonRedis

/// Running the scripts that take the key roster (`KeyRoster`).
extension RedisBroker {
    /// Runs `script` with its own `keys` and `arguments`, then the roster
    /// (`WorkerKeySet` of each worker, each type's parked list), then
    /// `trailing` arguments; takes in its report. Returns the script's result
    /// and whether it lacked a key it needed (run it again: the roster now has it).
    func runWithRoster(
        _ script: RedisScript, keys: [String], arguments: [any RedisArgumentConvertible], workerKeys: WorkerKeySet,
        trailing: [any RedisArgumentConvertible] = []
    ) async throws(BrokerError) -> (result: RESPValue, again: Bool) {
        let roster = self.roster.encoded(for: workerKeys)
        let command = RedisCommand(
            script: script, encodedKeys: keys.map(\.redisArgument) + roster.keys,
            encodedArguments: arguments.map(\.redisArgument) + roster.arguments + trailing.map(\.redisArgument)
        )
        let reply = try await self.redis.send(command).array ?? []
        return (reply.first ?? .null, self.roster.apply(reply))
    }

    /// Runs a script that changes nothing until the roster covers what it
    /// needs, until it does: each run corrects the roster, so a second
    /// suffices unless workers register or types park between the two.
    func runCovered(
        _ script: RedisScript, keys: [String], arguments: [any RedisArgumentConvertible], workerKeys: WorkerKeySet,
        trailing: [any RedisArgumentConvertible] = []
    ) async throws(BrokerError) -> RESPValue {
        for _ in 0..<5 {
            let (result, again) = try await self.runWithRoster(script, keys: keys, arguments: arguments, workerKeys: workerKeys, trailing: trailing)
            if !again { return result }
        }
        throw BrokerError(.unavailable, "\(script.name): the workers registry and parked types kept changing under five runs; retried later")
    }
}

import BatonModel
import BatonRedis

/// Per-type limits where the dispatch script reads them.
public struct TypeLimits: Sendable, Equatable {
    public var taskType: String
    public var maxConcurrency: Int
    public var rateLimitPerSecond: Int
    public var paused: Bool

    public init(taskType: String, maxConcurrency: Int, rateLimitPerSecond: Int, paused: Bool) {
        self.taskType = taskType
        self.maxConcurrency = maxConcurrency
        self.rateLimitPerSecond = rateLimitPerSecond
        self.paused = paused
    }

    public init(_ config: TaskConfigRecord) {
        self.init(taskType: config.taskType, maxConcurrency: config.maxConcurrency, rateLimitPerSecond: config.rateLimitPerSecond, paused: config.paused)
    }

    var isLimited: Bool { self.maxConcurrency > 0 || self.rateLimitPerSecond > 0 || self.paused }
    var value: String { "\(self.maxConcurrency)|\(self.rateLimitPerSecond)|\(self.paused ? 1 : 0)" }
}

extension RedisBroker {
    /// Replaces every type's limits (the leader's copy from MySQL), atomically:
    /// the dispatch script never sees the hash half-written.
    public func replaceLimits(_ limits: [TypeLimits]) async throws(RedisError) {
        let limited = limits.filter(\.isLimited)
        var commands = [RedisCommand("MULTI"), RedisCommand("DEL", self.keys.limits)]
        if !limited.isEmpty {
            commands.append(RedisCommand("HSET", [self.keys.limits] + limited.flatMap { [$0.taskType, $0.value] }))
        }
        commands.append(RedisCommand("EXEC"))
        for reply in try await self.redis.pipeline(commands) { try reply.checked() }
    }

    /// One type's limits, at once (a pause takes effect before the leader's next copy).
    public func setLimits(_ limits: TypeLimits) async throws(RedisError) {
        if limits.isLimited {
            try await self.redis.send("HSET", self.keys.limits, limits.taskType, limits.value)
        } else {
            try await self.redis.send("HDEL", self.keys.limits, limits.taskType)
        }
    }

    /// Puts a resumed type's parked entries back at the front of their
    /// queues, in their order, a page at a time (Redis is never held long).
    /// Returns how many went back.
    @discardableResult
    public func unpark(_ taskType: String, pageSize: Int = 1000) async throws(RedisError) -> Int {
        let key = self.keys.parked(taskType)
        let total = Int(try await self.redis.send("LLEN", key).int ?? 0)
        var left = total
        while left > 0 {
            left = Int(try await self.redis.run(
                BrokerScripts.unpark,
                keys: [key, self.keys.parkedTypes, self.keys.highQueue, self.keys.normalQueue, self.keys.wake],
                arguments: [pageSize, taskType]
            ).int ?? 0)
        }
        return total
    }
}

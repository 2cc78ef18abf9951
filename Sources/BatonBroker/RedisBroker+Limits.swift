import BatonModel
import BatonRedis

/// Per-type limits where the dispatch script reads them, with what a worker
/// must advertise to run the type.
public struct TypeLimits: Sendable, Equatable {
    public var taskType: String
    public var maxConcurrency: Int
    public var rateLimitPerSecond: Int
    public var paused: Bool
    /// The row's `limits_version`: a copy never replaces a newer one.
    public var version: UInt64
    /// `ExecutorCapability.required(by:)`; empty: any worker (as before workers advertised).
    public var capability: String

    public init(taskType: String, maxConcurrency: Int, rateLimitPerSecond: Int, paused: Bool, version: UInt64, capability: String = "") {
        self.taskType = taskType
        self.maxConcurrency = maxConcurrency
        self.rateLimitPerSecond = rateLimitPerSecond
        self.paused = paused
        self.version = version
        self.capability = capability
    }

    public init(_ config: TaskConfigRecord) {
        self.init(
            taskType: config.taskType, maxConcurrency: config.maxConcurrency, rateLimitPerSecond: config.rateLimitPerSecond,
            paused: config.paused, version: config.limitsVersion, capability: ExecutorCapability.required(by: config)
        )
    }

    /// `max_concurrency|rate_limit_per_second|paused|version|capability`, as
    /// the dispatch script reads it (the capability is the rest of the value).
    public var value: String {
        "\(self.maxConcurrency)|\(self.rateLimitPerSecond)|\(self.paused ? 1 : 0)|\(self.version)|\(self.capability)"
    }
}

extension RedisBroker {
    /// Copies every type's limits (the leader's copy from MySQL), each only
    /// over an older version: a copy read before a pause or resume that
    /// landed meanwhile never takes the type back. One script, so the
    /// dispatch script never sees the hash half-written.
    public func replaceLimits(_ limits: [TypeLimits]) async throws(BrokerError) {
        guard !limits.isEmpty else { return }
        try await self.redis.run(
            BrokerScripts.setLimits, keys: [self.keys.limits], arguments: limits.flatMap { [$0.taskType, $0.value, String($0.version)] }
        )
    }

    /// One type's limits, at once (a pause takes effect before the leader's next copy).
    public func setLimits(_ limits: TypeLimits) async throws(BrokerError) {
        try await self.replaceLimits([limits])
    }

    /// A deleted type's limits go, and its count of starts in a second.
    public func forgetLimits(_ taskType: String) async throws(BrokerError) {
        try await self.redis.pipelineChecked([RedisCommand("HDEL", self.keys.limits, taskType), RedisCommand("HDEL", self.keys.rates, taskType)])
    }

    /// The configured types no live worker runs (`BrokerScripts.unservedTypes`),
    /// each with how many of its entries are parked. `heartbeatTTL` nil:
    /// every worker whose registration has not expired.
    public func unservedTypes(heartbeatTTL: Duration?) async throws(BrokerError) -> [ClusterSnapshot.UnservedType] {
        let flat = try await self.runCovered(
            BrokerScripts.unservedTypes, keys: [self.keys.workers, self.keys.limits], arguments: [heartbeatTTL?.wholeMilliseconds ?? 0],
            workerKeys: .registration
        ).array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
            flat[index].string.map { ClusterSnapshot.UnservedType(taskType: $0, parked: flat[index + 1].int ?? 0) }
        }.sorted { $0.taskType < $1.taskType }
    }

    /// Types with entries parked.
    public func parkedTypes() async throws(BrokerError) -> [String] {
        try await self.redis.send("SMEMBERS", self.keys.parkedTypes).array?.compactMap(\.string) ?? []
    }

    /// Puts a resumed type's parked entries back at the front of their
    /// queues, in their order, a page at a time (Redis is never held long).
    /// Returns how many went back.
    @discardableResult
    public func unpark(_ taskType: String, pageSize: Int = 1000) async throws(BrokerError) -> Int {
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

import BatonBroker
import BatonRedis
import Foundation
import Logging

/// Moves tasks whose `run_at` or retry backoff is due from the delayed set to
/// their queues, in batches. Between passes it sleeps until the earliest due
/// time, woken early when an entry is added (the scripts that add one push to
/// the delayed wake list), and at least every `maxIdle` (which also bounds
/// how long a stop waits for the blocked call): an idle cluster
/// costs next to nothing, and a due task moves within milliseconds.
public struct DelayedPromoter: LeaderLoop {
    public let name = "delayed-promoter"
    private let broker: RedisBroker
    private let maxIdle: Duration
    private let batchSize: Int

    public init(broker: RedisBroker, maxIdle: Duration = .milliseconds(250), batchSize: Int = 1000) {
        self.broker = broker
        self.maxIdle = maxIdle
        self.batchSize = batchSize
    }

    public func run(term: LeaderState.Term) async throws {
        try await self.broker.redis.withBlockingConnection { wakeups in
            while !Task.isCancelled {
                let (moved, nextDue) = try await self.promote(now: Date())
                if moved >= self.batchSize { continue }
                var wait = self.maxIdle
                if let nextDue {
                    let untilDue = Duration.milliseconds(max(0, nextDue - Int64(Date().timeIntervalSince1970 * 1000)))
                    wait = min(wait, untilDue)
                }
                // BLPOP's timeout 0 would block for ever; a due entry is taken on the next pass.
                guard wait >= .milliseconds(1) else { continue }
                _ = try await wakeups.send(
                    RedisCommand("BLPOP", self.broker.keys.delayedWake, String(Double(wait.wholeMilliseconds) / 1000)),
                    blockingFor: wait
                )
            }
        }
    }

    /// One pass. Returns how many tasks moved.
    @discardableResult
    public func promoteOnce(now: Date = Date()) async throws -> Int {
        try await self.promote(now: now).moved
    }

    private func promote(now: Date) async throws -> (moved: Int, nextDue: Int64?) {
        let keys = self.broker.keys
        let reply = try await self.broker.redis.run(
            BrokerScripts.promoteDue,
            keys: [keys.delayed, keys.highQueue, keys.normalQueue, keys.wake],
            arguments: [Int64(now.timeIntervalSince1970 * 1000), self.batchSize]
        )
        let values = reply.array ?? []
        let next = values.count > 1 ? values[1].int ?? -1 : -1
        return (Int(values.first?.int ?? 0), next >= 0 ? Int64(next) : nil)
    }
}

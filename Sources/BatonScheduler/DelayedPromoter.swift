import BatonBroker
import BatonRedis
import Foundation
import Logging

/// Moves tasks whose `run_at` or retry backoff is due from the delayed set to
/// their queues, in batches, every `interval` (so within that time of being due).
public struct DelayedPromoter: LeaderLoop {
    public let name = "delayed-promoter"
    private let broker: RedisBroker
    private let interval: Duration
    private let batchSize: Int

    public init(broker: RedisBroker, interval: Duration = .milliseconds(50), batchSize: Int = 1000) {
        self.broker = broker
        self.interval = interval
        self.batchSize = batchSize
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            let moved = try await self.promoteOnce()
            if moved < self.batchSize { try await Task.sleep(for: self.interval) }
        }
    }

    @discardableResult
    public func promoteOnce(now: Date = Date()) async throws -> Int {
        let keys = self.broker.keys
        let reply = try await self.broker.redis.run(
            BrokerScripts.promoteDue,
            keys: [keys.delayed, keys.highQueue, keys.normalQueue, keys.wake],
            arguments: [Int64(now.timeIntervalSince1970 * 1000), self.batchSize]
        )
        return Int(reply.int ?? 0)
    }
}

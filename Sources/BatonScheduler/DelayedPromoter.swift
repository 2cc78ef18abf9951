import BatonBroker
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
    private let broker: any SchedulingBroker
    private let maxIdle: Duration
    private let batchSize: Int

    public init(broker: any SchedulingBroker, maxIdle: Duration = .milliseconds(250), batchSize: Int = 1000) {
        self.broker = broker
        self.maxIdle = maxIdle
        self.batchSize = batchSize
    }

    public func run(term: LeaderState.Term) async throws {
        try await self.broker.withWakeSource(for: .delayed) { wakeups in
            while !Task.isCancelled {
                let (moved, nextDue, now) = try await self.broker.promoteDue(limit: self.batchSize, fence: term.lockValue)
                if moved >= self.batchSize { continue }
                var wait = self.maxIdle
                if let nextDue {
                    wait = min(wait, .milliseconds(max(0, nextDue - now)))
                }
                // Under a millisecond: the due entry is taken on the next pass.
                guard wait >= .milliseconds(1) else { continue }
                try await wakeups.wait(timeout: wait)
            }
        }
    }

    /// One pass, due times judged by Redis's clock. Returns how many tasks moved.
    @discardableResult
    public func promoteOnce(term: LeaderState.Term) async throws -> Int {
        try await self.broker.promoteDue(limit: self.batchSize, fence: term.lockValue).moved
    }
}

import BatonBroker
import BatonModel
import BatonRedis
import BatonStore
import Foundation
import Logging

/// Makes Redis hold every task MySQL says is waiting. Two cases:
/// - Redis lost its data (its sentinel key is gone): one full pass over the
///   waiting tasks, in id order, puts each back.
/// - A crash between a MySQL write and the Redis change that follows it:
///   waiting tasks untouched for `staleAfter` are checked a page at a time
///   (an index range scan, with a cursor, never the whole table each time).
public struct Reconciler: LeaderLoop {
    public struct Configuration: Sendable {
        public var interval: Duration = .seconds(5)
        public var staleAfter: TimeInterval = 30
        public var pageSize = 200

        public init() {}
    }

    public let name = "reconciler"
    private let broker: RedisBroker
    private let tasks: TaskStore
    private let configuration: Configuration
    private let logger: Logger

    public init(broker: RedisBroker, tasks: TaskStore, configuration: Configuration = .init(), logger: Logger) {
        self.broker = broker
        self.tasks = tasks
        self.configuration = configuration
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        var cursor: Date?
        while !Task.isCancelled {
            cursor = try await self.reconcileOnce(cursor: cursor)
            try await Task.sleep(for: self.configuration.interval)
        }
    }

    /// One pass; returns the cursor for the next.
    public func reconcileOnce(cursor: Date?, now: Date = Date()) async throws -> Date? {
        let created = try await self.broker.redis.send("SET", self.broker.keys.sentinel, "1", "NX")
        if created == .status("OK") {
            let restored = try await self.restoreAll()
            if restored > 0 { self.logger.warning("Redis had lost its data; tasks put back", metadata: ["tasks": "\(restored)"]) }
            return nil
        }
        let stale = try await self.tasks.stale(
            statuses: [.pending, .queued, .scheduled, .retrying],
            before: now.addingTimeInterval(-self.configuration.staleAfter),
            afterUpdate: cursor,
            limit: self.configuration.pageSize
        )
        let requeued = try await self.requeueMissing(stale)
        if requeued > 0 { self.logger.warning("requeued tasks Redis did not hold", metadata: ["tasks": "\(requeued)"]) }
        return stale.count < self.configuration.pageSize ? nil : stale.last?.updatedAt
    }

    /// Every waiting task back in Redis. Returns how many were missing.
    @discardableResult
    public func restoreAll() async throws -> Int {
        var afterID = ""
        var restored = 0
        while true {
            let page = try await self.tasks.waiting(afterID: afterID, limit: 1000)
            restored += try await self.requeueMissing(page)
            guard page.count == 1000, let last = page.last else { return restored }
            afterID = last.taskID
        }
    }

    private func requeueMissing(_ tasks: [TaskRecord]) async throws -> Int {
        guard !tasks.isEmpty else { return 0 }
        let keys = self.broker.keys
        let now = Date()
        // Delayed tasks not yet due go back to the delayed set; the rest to their queue.
        let delayed = tasks.filter { ($0.runAt ?? .distantPast) > now && $0.attempt == 0 }
        let rest = tasks.filter { !(($0.runAt ?? .distantPast) > now && $0.attempt == 0) }
        var requeued = 0
        if !rest.isEmpty {
            let replies = try await self.broker.redis.pipeline(rest.map { task in
                RedisCommand(
                    script: BrokerScripts.requeueIfMissing,
                    keys: [keys.highQueue, keys.normalQueue, keys.delayed, keys.workers, keys.wake],
                    arguments: [keys.namespace, QueueEntry(task).member]
                )
            })
            for reply in replies { requeued += Int(try reply.checked().int ?? 0) }
        }
        if !delayed.isEmpty {
            let scores = try await self.broker.redis.pipeline(delayed.map { RedisCommand("ZSCORE", keys.delayed, QueueEntry($0).member) })
            let missing = zip(delayed, scores).filter { $0.1.isNull }.map(\.0)
            try await self.broker.enqueue(missing, now: now)
            requeued += missing.count
        }
        return requeued
    }
}

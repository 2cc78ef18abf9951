import BatonRedis
import Foundation
import Synchronization

/// The cluster's one clock: Redis's `TIME`, read now and then and carried
/// forward on this process's monotonic clock. Every time a node writes that
/// another node compares (started_at, due times, updated_at, log times) comes
/// from here, so a node whose own clock is off by a minute changes nothing.
/// Before the first `sync` it reads the local clock.
public final class ClusterClock: Sendable {
    private struct Reading {
        var redis: Date
        var at: ContinuousClock.Instant
    }

    private let reading = Mutex<Reading?>(nil)

    public init() {}

    /// The cluster's time now.
    public func now() -> Date {
        guard let reading = self.reading.withLock({ $0 }) else { return Date() }
        let elapsed = ContinuousClock.now - reading.at
        return reading.redis.addingTimeInterval(Double(elapsed.wholeNanoseconds) / 1e9)
    }

    /// Reads Redis's `TIME` `samples` times and keeps the reading of the
    /// shortest round trip, whose midpoint stands for the moment Redis
    /// answered. That is off by up to half the round trip, and on a busy
    /// machine one round trip can take milliseconds, mostly on the way back
    /// (the reply waits for a thread to resume this task): a node synced on
    /// such a reading ran that much behind the others, and a dependent
    /// started on it could read as started before its parent, which
    /// finished on another node, had finished.
    public func sync(_ redis: RedisClient, samples: Int = 5) async throws(RedisError) {
        var best: (time: Date, at: ContinuousClock.Instant, trip: Duration)?
        for _ in 0..<max(1, samples) {
            let before = ContinuousClock.now
            let reply = try await redis.send("TIME")
            let after = ContinuousClock.now
            guard let parts = reply.array, parts.count == 2,
                let seconds = parts[0].string.flatMap(Int64.init), let micros = parts[1].string.flatMap(Int64.init)
            else { throw RedisError(.server, "unexpected TIME reply") }
            if let best, best.trip <= after - before { continue }
            best = (Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1e6), before + (after - before) / 2, after - before)
        }
        if let best { self.set(best.time, at: best.at) }
    }

    /// For tests: the cluster's time is `time` at `instant`.
    public func set(_ time: Date, at instant: ContinuousClock.Instant = .now) {
        self.reading.withLock { $0 = Reading(redis: time, at: instant) }
    }
}

import BatonRedis
import Logging
import ServiceLifecycle

/// Keeps a node's `ClusterClock` on Redis's time: reads `TIME` every
/// `interval` (monotonic drift between readings is parts per million).
public struct ClusterClockSync: Service {
    private let clock: ClusterClock
    private let redis: RedisClient
    private let interval: Duration
    private let logger: Logger

    public init(clock: ClusterClock, redis: RedisClient, interval: Duration = .seconds(5), logger: Logger) {
        self.clock = clock
        self.redis = redis
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.clock.sync(self.redis)
                } catch {
                    // The last reading carries on: the monotonic clock keeps its pace.
                    self.logger.debug("could not read Redis TIME", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}

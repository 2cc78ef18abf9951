import BatonModel
import BatonRedis
import Logging
import ServiceLifecycle

/// Reads the cluster's event stream (XREAD BLOCK on a reserved connection)
/// and hands each event to the `EventHub`. Blocks at most `pollInterval`
/// server-side, so it notices cancellation promptly and uses no CPU while idle.
/// After a Redis outage it resumes where it left off.
public struct EventStreamReader: Service {
    private let broker: RedisBroker
    private let hub: EventHub
    private let logger: Logger
    private let pollInterval: Duration

    public init(broker: RedisBroker, hub: EventHub, logger: Logger, pollInterval: Duration = .seconds(1)) {
        self.broker = broker
        self.hub = hub
        self.logger = logger
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        var lastID = "$"
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await self.broker.redis.withBlockingConnection { connection in
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        let millis = self.pollInterval.wholeMilliseconds
                        let reply = try await connection.send(
                            RedisCommand("XREAD", "COUNT", 1000, "BLOCK", millis, "STREAMS", self.broker.keys.events, lastID),
                            blockingFor: self.pollInterval
                        )
                        for (id, event) in Self.parse(reply) {
                            lastID = id
                            self.hub.deliver(event)
                        }
                    }
                }
            } catch {
                self.logger.warning("event stream unavailable, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// `[[stream, [[id, [k, kind, s, subject]], …]]]` → events with their ids.
    static func parse(_ reply: RESPValue) -> [(String, ClusterEvent)] {
        guard let streams = reply.array, let first = streams.first?.array, first.count == 2, let entries = first[1].array else {
            return []
        }
        return entries.compactMap { entry in
            guard let pair = entry.array, pair.count == 2, let id = pair[0].string, let fields = pair[1].array else { return nil }
            var kind = ""
            var subject = ""
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                switch fields[index].string {
                case "k": kind = fields[index + 1].string ?? ""
                case "s": subject = fields[index + 1].string ?? ""
                default: break
                }
            }
            return ClusterEvent(kind: kind, subject: subject).map { (id, $0) }
        }
    }
}

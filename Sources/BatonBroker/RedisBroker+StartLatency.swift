import BatonModel
import BatonRedis
import Foundation

/// Each node's created → started latency for the interval it last sampled,
/// shared so that any node can chart the whole cluster's.
extension RedisBroker {
    /// One node's figure, as it published it.
    public struct NodeStartLatency: Sendable, Equatable {
        public var at: Date
        public var summary: LatencyWindow.Summary
    }

    /// Publishes this node's summary (and drops those of nodes silent for
    /// longer than `staleAfter`: a node gone does not stay in the chart).
    public func publishStartLatency(nodeID: String, _ summary: LatencyWindow.Summary, staleAfter: Duration) async throws(BrokerError) {
        let now = self.clock.now()
        let value = "\(Int64(now.timeIntervalSince1970 * 1000))|\(summary.count)|\(summary.p50)|\(summary.p99)"
        _ = try await self.redis.pipeline([
            RedisCommand("HSET", self.keys.startLatency, nodeID, value),
            RedisCommand("PEXPIRE", self.keys.startLatency, String(staleAfter.wholeMilliseconds * 2)),
        ])
    }

    /// Every node's summary published within `within`.
    public func startLatencies(within: Duration) async throws(BrokerError) -> [String: NodeStartLatency] {
        let reply = try await self.redis.send("HGETALL", self.keys.startLatency).array ?? []
        let oldest = self.clock.now().addingTimeInterval(-within.seconds)
        var found: [String: NodeStartLatency] = [:]
        var index = 0
        while index + 1 < reply.count {
            defer { index += 2 }
            guard let node = reply[index].string, let value = reply[index + 1].string else { continue }
            let fields = value.split(separator: "|")
            guard fields.count == 4, let ms = Double(fields[0]), let count = Int(fields[1]), let p50 = Double(fields[2]), let p99 = Double(fields[3]) else { continue }
            let at = Date(timeIntervalSince1970: ms / 1000)
            guard at >= oldest else { continue }
            found[node] = NodeStartLatency(at: at, summary: .init(count: count, p50: p50, p99: p99))
        }
        return found
    }
}

import BatonRedis
import Foundation

extension RedisBroker {
    /// Leader, queue depths and live workers, in two round trips.
    ///
    /// The leader key holds `<node_id>|<token>`; each worker's hash holds
    /// `node_id`, `capacity`, `running`, `queued`, `types` (comma-separated)
    /// and `heartbeat_ms`, written by the worker's heartbeat.
    public func snapshot() async throws(RedisError) -> ClusterSnapshot {
        let replies = try await self.redis.pipeline([
            RedisCommand("GET", self.keys.leader),
            RedisCommand("GET", self.keys.leaderEpoch),
            RedisCommand("LLEN", self.keys.highQueue),
            RedisCommand("LLEN", self.keys.normalQueue),
            RedisCommand("ZCARD", self.keys.delayed),
            RedisCommand("GET", self.keys.scheduledTotal),
            RedisCommand("ZRANGE", self.keys.workers, 0, -1),
        ])
        for reply in replies { try reply.checked() }
        let leader = replies[0].string.map { String($0.split(separator: "|").first ?? "") } ?? ""
        let workerIDs = (replies[6].array ?? []).compactMap(\.string)

        var workers: [ClusterSnapshot.Worker] = []
        if !workerIDs.isEmpty {
            let details = try await self.redis.pipeline(workerIDs.map { RedisCommand("HGETALL", self.keys.worker($0)) })
            for (workerID, reply) in zip(workerIDs, details) {
                let fields = reply.array ?? []
                guard !fields.isEmpty else { continue }  // heartbeat expired
                var map: [String: String] = [:]
                for index in stride(from: 0, to: fields.count - 1, by: 2) {
                    if let key = fields[index].string { map[key] = fields[index + 1].string ?? "" }
                }
                workers.append(
                    ClusterSnapshot.Worker(
                        workerID: workerID,
                        nodeID: map["node_id"] ?? "",
                        capacity: Int(map["capacity"] ?? "") ?? 0,
                        running: Int(map["running"] ?? "") ?? 0,
                        queued: Int(map["queued"] ?? "") ?? 0,
                        taskTypes: (map["types"] ?? "").split(separator: ",").map(String.init),
                        lastHeartbeat: Double(map["heartbeat_ms"] ?? "").map { Date(timeIntervalSince1970: $0 / 1000) }
                    )
                )
            }
        }
        return ClusterSnapshot(
            leaderNodeID: leader,
            leaderEpoch: replies[1].int ?? 0,
            queueHigh: replies[2].int ?? 0,
            queueNormal: replies[3].int ?? 0,
            queueDelayed: replies[4].int ?? 0,
            scheduledTotal: replies[5].int ?? 0,
            workers: workers
        )
    }
}

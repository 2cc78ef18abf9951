import BatonRedis
import Foundation

extension RedisBroker {
    /// Leader, queue depths, live workers and the types none of them runs,
    /// in three round trips.
    ///
    /// The leader key holds `<node_id>|<token>`; each worker's hash holds
    /// `node_id`, `capacity`, `types` (comma-separated, `*` for every type),
    /// `executors` (comma-separated) and `heartbeat_ms`, written by the worker's heartbeat. What a worker
    /// runs and holds is read from its lists now, not from its last beat:
    /// `running` is its in-flight list (taken, not yet acknowledged), `queued`
    /// its queue.
    public func snapshot() async throws(BrokerError) -> ClusterSnapshot {
        let replies = try await self.redis.pipelineChecked([
            RedisCommand("GET", self.keys.leader),
            RedisCommand("GET", self.keys.leaderEpoch),
            RedisCommand("LLEN", self.keys.highQueue),
            RedisCommand("LLEN", self.keys.normalQueue),
            RedisCommand("ZCARD", self.keys.delayed),
            RedisCommand("GET", self.keys.scheduledTotal),
            RedisCommand("ZRANGE", self.keys.workers, 0, -1),
        ])
        let leader = replies[0].string.map { String($0.split(separator: "|").first ?? "") } ?? ""
        let workerIDs = (replies[6].array ?? []).compactMap(\.string)

        var workers: [ClusterSnapshot.Worker] = []
        if !workerIDs.isEmpty {
            let details = try await self.redis.pipeline(workerIDs.flatMap {
                [RedisCommand("HGETALL", self.keys.worker($0)), RedisCommand("LLEN", self.keys.workerInFlight($0)),
                 RedisCommand("LLEN", self.keys.workerQueue($0)), RedisCommand("LLEN", self.keys.workerHighQueue($0))]
            })
            for (index, workerID) in workerIDs.enumerated() {
                let fields = details[index * 4].array ?? []
                guard !fields.isEmpty else { continue }  // heartbeat expired
                var map: [String: String] = [:]
                for index in stride(from: 0, to: fields.count - 1, by: 2) {
                    if let key = fields[index].string { map[key] = fields[index + 1].string ?? "" }
                }
                let types = map["types"] ?? ""
                workers.append(
                    ClusterSnapshot.Worker(
                        workerID: workerID,
                        nodeID: map["node_id"] ?? "",
                        capacity: Int(map["capacity"] ?? "") ?? 0,
                        running: Int(details[index * 4 + 1].int ?? 0),
                        queued: Int((details[index * 4 + 2].int ?? 0) + (details[index * 4 + 3].int ?? 0)),
                        // Empty: every type (the hash says `*`).
                        taskTypes: types == "*" ? [] : types.split(separator: ",").map(String.init),
                        executors: (map["executors"] ?? "").split(separator: ",").map(String.init),
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
            workers: workers,
            unservedTypes: try await self.unservedTypes(heartbeatTTL: nil)
        )
    }
}

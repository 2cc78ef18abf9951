import BatonRedis

extension RedisBroker {
    /// The backlog per task type in two round trips, reading at most
    /// `limit` entries of each priority queue (LRANGE from the head, the
    /// next to dispatch) and one per parked type, so its cost does not
    /// grow with the backlog: the metrics sample it every few seconds
    /// instead of adding anything to the path of a task.
    public func backlogSample(limit: Int = 1000) async throws(BrokerError) -> BacklogSample {
        let replies = try await self.redis.pipelineChecked([
            RedisCommand("LRANGE", self.keys.highQueue, 0, limit - 1),
            RedisCommand("LLEN", self.keys.highQueue),
            RedisCommand("LRANGE", self.keys.normalQueue, 0, limit - 1),
            RedisCommand("LLEN", self.keys.normalQueue),
            RedisCommand("HGETALL", self.keys.limits),
            RedisCommand("SMEMBERS", self.keys.parkedTypes),
        ])
        var sample = BacklogSample()
        let limits = replies[4].array ?? []
        for index in stride(from: 0, to: limits.count - 1, by: 2) {
            guard let type = limits[index].string else { continue }
            sample.types[type] = sample.types[type] ?? BacklogSample.TypeBacklog()
            // `max_concurrency|rate|paused|…` (TypeLimits.value).
            let fields = (limits[index + 1].string ?? "").split(separator: "|", omittingEmptySubsequences: false)
            if fields.count > 2, fields[2] == "1" { sample.paused.insert(type) }
        }
        for (entriesAt, lengthAt) in [(0, 1), (2, 3)] {
            let entries = (replies[entriesAt].array ?? []).compactMap { $0.string.flatMap(QueueEntry.init(member:)) }
            let length = replies[lengthAt].int ?? 0
            var counts: [String: Int64] = [:]
            for entry in entries {
                if counts[entry.taskType] == nil { sample.types[entry.taskType, default: .init()].heads.append(entry.taskID) }
                counts[entry.taskType, default: 0] += 1
            }
            let scaled = entries.count < Int(length) && !entries.isEmpty
            if scaled { sample.estimated = true }
            for (type, count) in counts {
                sample.types[type, default: .init()].waiting += scaled ? count * length / Int64(entries.count) : count
            }
        }
        let parked = (replies[5].array ?? []).compactMap(\.string).sorted()
        guard !parked.isEmpty else { return sample }
        let lists = try await self.redis.pipeline(parked.flatMap {
            [RedisCommand("LLEN", self.keys.parked($0)), RedisCommand("LINDEX", self.keys.parked($0), 0)]
        })
        for (index, type) in parked.enumerated() {
            let count = lists[index * 2].int ?? 0
            sample.types[type, default: .init()].parked = count
            sample.types[type, default: .init()].waiting += count
            if let head = lists[index * 2 + 1].string.flatMap(QueueEntry.init(member:)) {
                sample.types[type, default: .init()].heads.append(head.taskID)
            }
        }
        return sample
    }
}

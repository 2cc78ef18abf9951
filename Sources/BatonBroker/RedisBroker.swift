import BatonModel
import BatonRedis
import Foundation
import Logging

/// Baton's view of Redis: queues, the delayed set, the event stream and the
/// cluster state the API reports. All multi-step changes are `BrokerScripts`.
public struct RedisBroker: Sendable {
    /// Internal: no module above the broker speaks Redis (blocking reads go
    /// through `WorkerInbox` and `WakeSource`).
    let redis: BrokerRedis
    /// The connections of the cluster's liveness (heartbeats, the leader
    /// lock): a pool of their own, so no burst of other calls can hold them
    /// back past their TTL.
    let control: BrokerRedis
    public let keys: RedisKeys
    /// The cluster's clock (Redis's time), for every time this node writes.
    public let clock: ClusterClock
    /// Approximate length the event stream is trimmed to.
    public var eventStreamLength = 100_000
    /// The workers and types whose keys the scripts that meet keys at run time get in KEYS.
    let roster: KeyRoster

    public init(redis: RedisClient, control: RedisClient? = nil, keys: RedisKeys, clock: ClusterClock = ClusterClock()) {
        self.redis = BrokerRedis(client: redis)
        self.control = BrokerRedis(client: control ?? redis)
        self.keys = keys
        self.clock = clock
        self.roster = KeyRoster(keys: keys)
    }

    /// Puts tasks where they wait: their priority's queue, or the delayed set
    /// until they are due (`TaskRecord.dueAt`). One round trip for any number.
    public func enqueue(_ tasks: [TaskRecord], now: Date? = nil) async throws(BrokerError) {
        let now = now ?? self.clock.now()
        var high: [String] = []
        var normal: [String] = []
        var delayed: [String] = []
        for task in tasks {
            let entry = QueueEntry(task)
            if let due = task.dueAt, due > now {
                delayed.append(String(Int64(due.timeIntervalSince1970 * 1000)))
                delayed.append(entry.member)
            } else if task.priority == .high {
                high.append(entry.member)
            } else {
                normal.append(entry.member)
            }
        }
        guard !tasks.isEmpty else { return }
        let arguments: [String] = [String(high.count), String(normal.count)] + high + normal + delayed
        try await self.redis.run(
            BrokerScripts.enqueue,
            keys: [self.keys.highQueue, self.keys.normalQueue, self.keys.delayed, self.keys.wake, self.keys.delayedWake, self.keys.tombstones,
                   self.keys.restoreHeld],
            arguments: arguments
        )
    }

    /// Removes a cancelled task from every queue that may hold it and signals
    /// the worker that may run it (the row's worker: the one that started
    /// it, or whose unwritten attempt the cancel counted).
    public func cancel(_ task: TaskRecord) async throws(BrokerError) {
        let entry = QueueEntry(task)
        let worker = task.workerID ?? "-"
        try await self.redis.run(
            BrokerScripts.cancel,
            keys: [self.keys.highQueue, self.keys.normalQueue, self.keys.delayed, self.keys.workerQueue(worker), self.keys.events, self.keys.inUse,
                   self.keys.workerHighQueue(worker), self.keys.workerCancels(worker), self.keys.tombstones],
            arguments: [
                entry.member, task.taskID, String(self.eventStreamLength), task.taskType, task.workerID == nil ? "0" : "1",
                CancelNotice(taskID: task.taskID, attempt: task.attempt).member,
            ]
        )
    }

    /// Before a cancel's MySQL write: the claims of the tasks workers run
    /// (by task id), every other task held so that no take starts it until
    /// `releaseCancelHolds` (a take meanwhile drops its entry as a copy).
    public func holdForCancel(_ taskIDs: [String]) async throws(BrokerError) -> [String: AttemptClaim] {
        guard !taskIDs.isEmpty else { return [:] }
        return Self.claims(taskIDs, try await self.redis.run(BrokerScripts.holdForCancel, keys: [self.keys.claims], arguments: taskIDs))
    }

    /// Drops the holds `holdForCancel` left, once the cancel is written (or failed).
    public func releaseCancelHolds(_ taskIDs: [String]) async throws(BrokerError) {
        guard !taskIDs.isEmpty else { return }
        try await self.redis.run(BrokerScripts.releaseCancelHolds, keys: [self.keys.claims], arguments: taskIDs)
    }

    /// The claims of these tasks (those a worker runs), by task id.
    public func claims(_ taskIDs: [String]) async throws(BrokerError) -> [String: AttemptClaim] {
        guard !taskIDs.isEmpty else { return [:] }
        return Self.claims(taskIDs, try await self.redis.send(RedisCommand("HMGET", [self.keys.claims] + taskIDs)))
    }

    /// The claims a reply holds, one value per task id in order ('' or nil: none).
    private static func claims(_ taskIDs: [String], _ reply: RESPValue) -> [String: AttemptClaim] {
        var claims: [String: AttemptClaim] = [:]
        for (id, value) in zip(taskIDs, reply.array ?? []) {
            if let claim = value.string.flatMap(AttemptClaim.init(value:)) { claims[id] = claim }
        }
        return claims
    }

    /// Appends events to the cluster's event stream, in one round trip.
    public func publish(_ events: [ClusterEvent]) async throws(BrokerError) {
        guard !events.isEmpty else { return }
        let commands = events.map { event in
            RedisCommand(
                "XADD", self.keys.events, "MAXLEN", "~", self.eventStreamLength, "*",
                "k", event.fields.kind, "s", event.fields.subject
            )
        }
        try await self.redis.pipelineChecked(commands)
    }

    /// Redis's `maxmemory-policy`, or nil when `CONFIG` is not allowed
    /// (managed services often rename it).
    public func evictionPolicy() async -> String? {
        guard let reply = try? await self.redis.send("CONFIG", "GET", "maxmemory-policy"), let values = reply.array, values.count == 2 else {
            return nil
        }
        return values[1].string
    }

    /// True when Redis answers.
    public func ping() async -> Bool {
        (try? await self.redis.send("PING")) == .status("PONG")
    }
}

extension RedisBroker {
    /// Announces changes of the given tasks to their watchers, if any.
    public func announce(_ taskIDs: [String]) async throws(BrokerError) {
        guard !taskIDs.isEmpty else { return }
        try await self.redis.run(
            BrokerScripts.announce,
            keys: [self.keys.events, self.keys.watchers],
            arguments: [String(self.eventStreamLength)] + taskIDs
        )
    }

    /// Marks a task as watched until `lease` from now (transitions of watched
    /// tasks are announced); a watcher renews it while it watches. Several
    /// watchers of one task share the entry: the latest lease wins.
    public func watch(_ taskID: String, lease: Duration) async throws(BrokerError) {
        let until = Int64(self.clock.now().timeIntervalSince1970 * 1000) + lease.wholeMilliseconds
        try await self.redis.send("ZADD", self.keys.watchers, "GT", until, taskID)
    }

    /// Drops lapsed watches (a crashed node's) and tombstones older than
    /// `tombstoneAge` (an entry the dispatcher has not reached by then is
    /// dropped by the worker instead: a cancelled task never starts).
    public func pruneLapsed(tombstoneAge: Duration = .seconds(3600)) async throws(BrokerError) {
        let now = Int64(self.clock.now().timeIntervalSince1970 * 1000)
        try await self.redis.pipelineChecked([
            RedisCommand("ZREMRANGEBYSCORE", self.keys.watchers, "-inf", "(\(now)"),
            RedisCommand("ZREMRANGEBYSCORE", self.keys.tombstones, "-inf", "(\(now - tombstoneAge.wholeMilliseconds)"),
        ])
    }
}

extension RedisBroker {
    /// Acknowledges finished attempts of one worker (after their outcome is
    /// in MySQL): off its in-flight list, their type's slot freed, retries
    /// (due > 0, ms) put on the delayed set as the entry of the task's next
    /// generation.
    public func acknowledge(workerID: String, _ entries: [(entry: QueueEntry, due: Int64)]) async throws(BrokerError) {
        try await self.acknowledge(workerID: workerID, entries, fence: "")
    }

    /// `acknowledge` by a leader (`fence`, its lock value; empty: anyone):
    /// it runs only while that leader leads.
    public func acknowledge(workerID: String, _ entries: [(entry: QueueEntry, due: Int64)], fence: String) async throws(BrokerError) {
        guard !entries.isEmpty else { return }
        try await self.redis.run(
            BrokerScripts.acknowledge,
            keys: [
                self.keys.workerInFlight(workerID), self.keys.inUse, self.keys.delayed, self.keys.events, self.keys.watchers,
                self.keys.wake, self.keys.delayedWake, self.keys.leader, self.keys.restoreHeld, self.keys.claims,
            ],
            arguments: [String(self.eventStreamLength), fence, workerID]
                + entries.flatMap { [$0.entry.member, String($0.due), $0.due > 0 ? $0.entry.next.member : ""] }
        )
    }
}

extension RedisBroker {
    /// Puts entries a worker took (its in-flight list) and will not run back
    /// at the front of their queues: one of the five ways work goes back
    /// (docs/architecture.md, "Putting work back").
    public func handBackInFlight(workerID: String, _ entries: [QueueEntry]) async throws(BrokerError) {
        guard !entries.isEmpty else { return }
        try await self.redis.run(
            BrokerScripts.handBackInFlight,
            keys: [self.keys.workerInFlight(workerID), self.keys.highQueue, self.keys.normalQueue, self.keys.inUse, self.keys.wake, self.keys.claims],
            arguments: [workerID] + entries.map(\.member)
        )
    }
}

import BatonModel

/// Every Redis key and stream Baton uses, under one namespace (default
/// `baton`), so that tests and several clusters can share a server.
public struct RedisKeys: Sendable {
    public let namespace: String

    public init(namespace: String = "baton") {
        self.namespace = namespace
    }

    public var highQueue: String { "\(self.namespace):queue:high" }
    /// Per node: its worker's created → started latency over its last stats
    /// interval, `<ms since epoch>|<count>|<p50>|<p99>` (the dashboard's chart).
    public var startLatency: String { "\(self.namespace):stats:start-latency" }
    public var normalQueue: String { "\(self.namespace):queue:normal" }
    /// Tasks waiting for `run_at` or a retry backoff, scored by due time (ms).
    public var delayed: String { "\(self.namespace):delayed" }
    /// Cluster events: task changes, cancel signals, config changes.
    public var events: String { "\(self.namespace):events" }
    public var leader: String { "\(self.namespace):leader" }
    public var leaderEpoch: String { "\(self.namespace):leader:epoch" }
    /// Live workers, scored by their last heartbeat (ms).
    public var workers: String { "\(self.namespace):workers" }
    /// Pushed to when work may be waiting (a new task, a freed slot): the
    /// dispatcher blocks on it instead of polling.
    public var wake: String { "\(self.namespace):wake" }
    /// Pushed to when the delayed set gains an entry: wakes the promoter early.
    public var delayedWake: String { "\(self.namespace):delayed:wake" }
    /// Per task type: tasks on worker queues or running (max_concurrency).
    public var inUse: String { "\(self.namespace):inuse" }
    /// Per task type: `max_concurrency|rate_limit_per_second|paused`, kept by the leader.
    public var limits: String { "\(self.namespace):limits" }
    /// Types with entries parked (paused while their tasks waited).
    public var parkedTypes: String { "\(self.namespace):parked" }
    /// A paused type's waiting entries, in queue order, set aside by the
    /// dispatcher so that they hold back no other type.
    public func parked(_ taskType: String) -> String { "\(self.namespace):parked:\(taskType)" }
    /// Tasks someone watches, scored by when the watch lapses (ms): their
    /// transitions are announced on `events`. A watcher renews its lease; a
    /// crashed node's lapse and are pruned by the leader.
    public var watchers: String { "\(self.namespace):watchers" }
    /// Entries of cancelled tasks still on a priority queue, scored by when
    /// (ms): the dispatcher drops them as it reaches them.
    public var tombstones: String { "\(self.namespace):queue:cancelled" }
    /// Present while Redis holds Baton's state; gone after a data loss (FLUSHALL, restart without persistence).
    public var sentinel: String { "\(self.namespace):sentinel" }
    /// Workers declared dead (by the leader, or by their node's next
    /// incarnation), scored by when: their heartbeats are refused.
    public var retiredWorkers: String { "\(self.namespace):workers:retired" }
    /// Workers declared dead whose tasks are not yet back on the queues.
    public var reclaimWorkers: String { "\(self.namespace):workers:reclaim" }
    /// While a restore after a data loss runs: the entries Redis holds.
    public var restoreHeld: String { "\(self.namespace):restore:held" }
    /// Tasks dispatched by the current leader.
    public var scheduledTotal: String { "\(self.namespace):stats:scheduled" }
    /// Where the round-robin dispatch strategy's cursor is kept between rounds.
    public var dispatchCursor: String { "\(self.namespace):dispatch:rr" }

    public func queue(_ priority: TaskPriority) -> String {
        priority == .high ? self.highQueue : self.normalQueue
    }

    public func worker(_ workerID: String) -> String { "\(self.namespace):worker:\(workerID)" }
    /// A worker's queue of normal-priority work; high-priority work waits on
    /// its own queue beside it, taken first.
    public func workerQueue(_ workerID: String) -> String { "\(self.namespace):worker:\(workerID):queue" }
    public func workerHighQueue(_ workerID: String) -> String { "\(self.namespace):worker:\(workerID):queue:high" }
    /// Ids of tasks cancelled while this worker may run them.
    public func workerCancels(_ workerID: String) -> String { "\(self.namespace):worker:\(workerID):cancels" }
    /// Rung when the dispatcher gives a worker work: an idle worker blocks on it.
    public func workerBell(_ workerID: String) -> String { "\(self.namespace):worker:\(workerID):bell" }
    /// Rung too when the work is high priority: the worker's high lane blocks on it.
    public func workerHighBell(_ workerID: String) -> String { "\(self.namespace):worker:\(workerID):bell:high" }
    public func workerInFlight(_ workerID: String) -> String { "\(self.namespace):worker:\(workerID):inflight" }
    /// The current worker incarnation of a node.
    public func nodeWorker(_ nodeID: String) -> String { "\(self.namespace):node:\(nodeID):worker" }
    /// The incarnation of the live node that holds an id (any roles), with a TTL it refreshes.
    public func nodePresence(_ nodeID: String) -> String { "\(self.namespace):node:\(nodeID):presence" }
}
